"""Glue from a year's books and the flip to the return: one consistent path for the app to follow.

Why a module of its own: the flip needs the year's taxable and book income, and the return needs the
flip's shares, distributions and §704(b) capital. Deriving both from the same `YearFigures` here keeps
them from drifting apart (M-2 ending equals the flip's capital accounts, to the cent).

The path, per SPV: assets -> `assets.build_register` (depreciation, §30C credits) -> one `YearFigures`
per year -> `projection_for` each year -> `flip.run_flip` -> for the year to file, `partner_years` ->
`inputs.Form1065Input` -> `form1065.compute_return` -> `reports` PDFs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.flip import FlipResult, YearProjection, irr
from pipelet_app.domain.tax.inputs import PartnerInfo, PartnerYear, YearFigures
from pipelet_app.domain.tax.macrs import to_cent

ZERO = Decimal("0.00")


def taxable_income(figures: YearFigures, guaranteed_payments: Decimal = ZERO) -> Decimal:
    """Analysis of Net Income line 1 less guaranteed payments: what the partners share by tax share."""
    return (
        figures.gross_receipts
        - figures.operating_expenses
        - figures.tax_depreciation
        - guaranteed_payments
        + figures.interest_income
        + figures.ordinary_dividends
        - figures.other_deductions
    )


def section_704b_income(figures: YearFigures) -> Decimal:
    """Income (loss) for the §704(b) capital accounts: taxable income plus tax-exempt income less
    nondeductible expenses.

    Why not the GAAP book income: for property bought with cash, §704(b) book value equals tax basis,
    so §704(b) depreciation equals tax depreciation (Treas. Reg. §1.704-1(b)(2)(iv)(g)(3)), bonus
    included. That is what drives tax-equity investors' capital into deficit and makes the DRO/QIO test
    matter; straight-line GAAP depreciation would hide it. Contributed property with a book/tax
    difference (§704(c)) is not modelled.
    """
    return taxable_income(figures) + figures.tax_exempt_interest - figures.nondeductible_expenses


def book_income(figures: YearFigures, guaranteed_payments: Decimal = ZERO) -> Decimal:
    """Net income per books (Schedule M-1 line 1 / M-2 line 3) as `form1065` computes it."""
    return (
        figures.gross_receipts
        - figures.operating_expenses
        - figures.book_depreciation
        - guaranteed_payments
        + figures.interest_income
        + figures.ordinary_dividends
        + figures.tax_exempt_interest
        - figures.nondeductible_expenses
        - figures.other_deductions
    )


def projection_for(
    tax_year: int,
    figures: YearFigures,
    distributable_cash: Decimal,
    contributions: Mapping[str, Decimal] | None = None,
) -> YearProjection:
    """The flip's view of a year, from the same figures the return uses."""
    return YearProjection(
        tax_year=tax_year,
        distributable_cash=distributable_cash,
        taxable_income=taxable_income(figures),
        section_704b_income=section_704b_income(figures),
        credits=figures.credits,
        contributions=dict(contributions or {}),
    )


def partner_years(
    flip: FlipResult,
    tax_year: int,
    partners: Mapping[str, PartnerInfo],
    tax_capital_beginning: Mapping[str, Decimal],
    book_capital_beginning: Mapping[str, Decimal],
) -> tuple[PartnerYear, ...]:
    """Each partner's `PartnerYear` for `tax_year` from the flip: shares in force, cash distributed,
    and contributions. Capital beginnings come from last year's return (zero in the first year): the
    tax basis from K-1 item L, the books' (Schedule M-2) from `Form1065.book_capital`. The flip's own
    §704(b) accounts stay in `FlipResult` for the DRO/QIO test and the capital account statement.
    The flip takes effect at a year boundary, so the share in force is the same on the first and last
    day (item J beginning = ending)."""
    year = flip.year(tax_year)
    missing = sorted(set(year.tax_shares) - set(partners))
    errors.raise_if(
        [errors.violation(errors.PARTNER_UNKNOWN, "partners", "no_partner_details", partners=missing)]
        if missing
        else []
    )
    out = []
    for pid, share in year.tax_shares.items():
        capital = year.capital[pid]
        out.append(
            PartnerYear(
                partner=partners[pid],
                tax_share=share,
                tax_capital_beginning=tax_capital_beginning.get(pid, ZERO),
                book_capital_beginning=book_capital_beginning.get(pid, ZERO),
                cash_distributions=year.distributions[pid],
                contributed_cash=capital.contributed_cash,
                line1_reallocation=year.loss_reallocation.get(pid, ZERO),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class InvestorYear:
    """One year of a partner's (or a class's) position, for the investor portal's analytics page."""

    tax_year: int
    contributed: Decimal
    distributed: Decimal
    cumulative_contributed: Decimal
    cumulative_distributed: Decimal
    cash_yield: Decimal | None
    """Distributions of the year over cumulative contributions (None before any contribution)."""
    after_tax_cash_flow: Decimal
    cumulative_after_tax_irr: Decimal | None
    capital_ending: Decimal


def investor_history(
    flip: FlipResult, partner_ids: Sequence[str], tax_rate: Decimal
) -> tuple[InvestorYear, ...]:
    """Cash yield, after-tax cash flow and IRR to date of `partner_ids` taken together.

    After-tax cash flow is distributions - contributions - allocated taxable income x `tax_rate` +
    allocated credits, the same measure the flip uses for the whole investor class.
    """
    out: list[InvestorYear] = []
    flows: list[Decimal] = []
    total_in = total_out = ZERO
    for year in flip.years:
        contributed = sum((year.capital[pid].contributed for pid in partner_ids), ZERO)
        distributed = sum((year.distributions[pid] for pid in partner_ids), ZERO)
        tax = sum((to_cent(year.income[pid] * tax_rate) for pid in partner_ids), ZERO)
        credits = sum((year.credits[pid] for pid in partner_ids), ZERO)
        total_in += contributed
        total_out += distributed
        flow = distributed - contributed - tax + credits  # rounded per partner, as the flip does
        flows.append(flow)
        out.append(
            InvestorYear(
                tax_year=year.tax_year,
                contributed=contributed,
                distributed=distributed,
                cumulative_contributed=total_in,
                cumulative_distributed=total_out,
                cash_yield=(distributed / total_in).quantize(Decimal("0.000001")) if total_in > 0 else None,
                after_tax_cash_flow=flow,
                cumulative_after_tax_irr=irr(flows),
                capital_ending=sum((year.capital[pid].ending for pid in partner_ids), ZERO),
            )
        )
    return tuple(out)
