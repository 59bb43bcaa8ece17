"""Schedule K-1 (Form 1065): the line registry shared with Schedule K, and the per-partner result.

Why one registry: every K-1 box is a partner's share of a Schedule K line, and the K-1s of a return
must add up to Schedule K line by line. Declaring the lines once (Schedule K line, K-1 box, code,
label) keeps the 1065, the K-1s, the PDFs and the sum check on the same list.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pipelet_app.domain.tax.capital import CapitalStatement
from pipelet_app.domain.tax.inputs import Liabilities, PartnerInfo, PartnershipInfo
from pipelet_app.domain.tax.macrs import TaxYear


@dataclass(frozen=True, slots=True)
class Line:
    """A Schedule K line and the K-1 box (and code, where the box takes one) it flows to.

    `k1_code` "STMT" means the K-1 shows the amount with "see attached statement"; None means the box
    has no code. The §30C credit's box 15 code is filled from the return's input (unsettled fact).
    """

    k_line: str
    label: str
    k1_box: str
    k1_code: str | None = None


# Schedule K lines computed here, in form order (2024-2025 Form 1065 numbering).
LINES: tuple[Line, ...] = (
    Line("1", "Ordinary business income (loss)", "1"),
    Line("2", "Net rental real estate income (loss)", "2"),
    Line("3c", "Other net rental income (loss)", "3"),
    Line("4a", "Guaranteed payments for services", "4a"),
    Line("4b", "Guaranteed payments for capital", "4b"),
    Line("4c", "Total guaranteed payments", "4c"),
    Line("5", "Interest income", "5"),
    Line("6a", "Ordinary dividends", "6a"),
    Line("7", "Royalties", "7"),
    Line("8", "Net short-term capital gain (loss)", "8"),
    Line("9a", "Net long-term capital gain (loss)", "9a"),
    Line("10", "Net section 1231 gain (loss)", "10"),
    Line("11", "Other income (loss)", "11", "STMT"),
    Line("12", "Section 179 deduction", "12"),
    Line("13d", "Other deductions", "13", "STMT"),
    Line("14a", "Net earnings (loss) from self-employment", "14", "A"),
    Line("15f", "Other credits", "15"),
    Line("18a", "Tax-exempt interest income", "18", "A"),
    Line("18c", "Nondeductible expenses", "18", "C"),
    Line("19a", "Distributions of cash and marketable securities", "19", "A"),
    Line("19b", "Distributions of other property", "19", "C"),
    Line("20a", "Investment income", "20", "A"),
    Line("21", "Foreign taxes paid or accrued", "21"),
)
LINE_BY_ID: dict[str, Line] = {line.k_line: line for line in LINES}

# Lines that make up "Analysis of Net Income (Loss)", line 1: K lines 1-11 less 12, 13a-e and 21.
NET_INCOME_PLUS: tuple[str, ...] = ("1", "2", "3c", "4c", "5", "6a", "7", "8", "9a", "10", "11")
NET_INCOME_MINUS: tuple[str, ...] = ("12", "13d", "21")


@dataclass(frozen=True, slots=True)
class K1Box:
    """One filled K-1 Part III entry."""

    box: str
    code: str | None
    label: str
    amount: Decimal
    k_line: str


@dataclass(frozen=True, slots=True)
class ItemJ:
    """Partner's share of profit, loss and capital, beginning and ending (fractions of 1)."""

    profit_beginning: Decimal
    profit_ending: Decimal
    loss_beginning: Decimal
    loss_ending: Decimal
    capital_beginning: Decimal
    capital_ending: Decimal


@dataclass(frozen=True, slots=True)
class ItemK:
    """Partner's share of liabilities, beginning and ending (item K1)."""

    beginning: Liabilities
    ending: Liabilities


@dataclass(frozen=True, slots=True)
class K1:
    """A partner's Schedule K-1: Part I (partnership), Part II (partner, items E-N), Part III (boxes)."""

    tax_year: TaxYear
    partnership: PartnershipInfo
    partner: PartnerInfo
    final_k1: bool
    item_j: ItemJ
    item_k: ItemK
    item_l: CapitalStatement
    item_m: bool
    item_n_beginning: Decimal
    item_n_ending: Decimal
    amounts: dict[str, Decimal]
    """Partner's share of every Schedule K line in `LINES`, zero included (keyed by K line id)."""
    credit_code: str | None

    @property
    def boxes(self) -> tuple[K1Box, ...]:
        """Non-zero Part III entries, in form order, as the K-1 prints them."""
        out = []
        for line in LINES:
            amount = self.amounts.get(line.k_line, Decimal(0))
            if amount == 0:
                continue
            code = self.credit_code if line.k_line == "15f" else line.k1_code
            out.append(K1Box(line.k1_box, code, line.label, amount, line.k_line))
        return tuple(out)

    def box_amount(self, k_line: str) -> Decimal:
        return self.amounts.get(k_line, Decimal(0))
