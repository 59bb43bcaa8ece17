"""From books and the flip to two years of returns: shares, capital and item L carry over consistently."""

from __future__ import annotations

from decimal import Decimal

from pipelet_app.domain.tax.books import partner_years, projection_for
from pipelet_app.domain.tax.flip import FlipTerms, PartnerTerms, Role, run_flip
from pipelet_app.domain.tax.form1065 import compute_return
from pipelet_app.domain.tax.inputs import (
    BalanceSheet,
    Form1065Input,
    PartnerInfo,
    PartnershipInfo,
    YearFigures,
)
from pipelet_app.domain.tax.macrs import TaxYear

INFOS = {
    "INV": PartnerInfo("INV", "111111111", "Tax Equity Corp", ("1 Wall St",), general_partner=False),
    "DEV": PartnerInfo("DEV", "222222222", "Developer LLC", ("2 Grid Ave",), general_partner=True),
}
TERMS = FlipTerms(
    (
        PartnerTerms(
            "INV",
            Role.INVESTOR,
            Decimal("0.99"),
            Decimal("0.05"),
            Decimal("0.30"),
            Decimal("0.05"),
            has_dro=True,
        ),
        PartnerTerms(
            "DEV",
            Role.SPONSOR,
            Decimal("0.01"),
            Decimal("0.95"),
            Decimal("0.70"),
            Decimal("0.95"),
            has_dro=True,
        ),
    ),
    target_irr=Decimal("0.08"),
    investor_tax_rate=Decimal("0.2653"),
)
FIGURES = {
    2025: YearFigures(
        gross_receipts=Decimal("200000.00"),
        operating_expenses=Decimal("50000.00"),
        tax_depreciation=Decimal("900000.00"),
        book_depreciation=Decimal("100000.00"),
        interest_income=Decimal("333.33"),
        tax_exempt_interest=Decimal("10.00"),
        credits=Decimal("60000.00"),
        credit_k1_code="STMT",
    ),
    2026: YearFigures(
        gross_receipts=Decimal("400000.00"),
        operating_expenses=Decimal("90000.00"),
        tax_depreciation=Decimal("0.00"),
        book_depreciation=Decimal("100000.00"),
        interest_income=Decimal("100.01"),
        nondeductible_expenses=Decimal("7.00"),
    ),
}
CASH = {2025: Decimal("120000.00"), 2026: Decimal("250000.00")}
CONTRIBUTIONS = {2025: {"INV": Decimal("700000.00"), "DEV": Decimal("300000.00")}}


def test_two_years_from_flip_to_returns() -> None:
    projections = [projection_for(y, FIGURES[y], CASH[y], CONTRIBUTIONS.get(y)) for y in (2025, 2026)]
    flip = run_flip(TERMS, projections)
    tax_capital: dict[str, Decimal] = {}
    book_capital: dict[str, Decimal] = {}
    books_total = Decimal(0)
    for year in (2025, 2026):
        partners = partner_years(flip, year, INFOS, tax_capital, book_capital)
        flip_year = flip.year(year)
        f = FIGURES[year]
        book_income = f.gross_receipts - f.operating_expenses - f.book_depreciation + f.interest_income
        book_income += f.tax_exempt_interest - f.nondeductible_expenses
        contributed = sum(CONTRIBUTIONS.get(year, {}).values(), Decimal(0))
        begin, books_total = books_total, books_total + contributed + book_income - CASH[year]
        data = Form1065Input(
            PartnershipInfo("12-3456789", "SPV", ("a",), "Ogden, UT"),
            TaxYear.calendar(year),
            f,
            partners,
            balance_beginning=BalanceSheet(cash=begin, partners_capital=begin),
            balance_ending=BalanceSheet(cash=books_total, partners_capital=books_total),
        )
        form = compute_return(data)
        for k1 in form.k1s:
            pid = k1.partner.partner_id
            # K-1 shares are the flip's shares; distributions are the flip's allocations.
            assert k1.item_j.profit_ending == flip_year.tax_shares[pid]
            assert k1.box_amount("19a") == flip_year.distributions[pid]
            # Tax-basis item L and the flip's §704(b) account move together (cash SPV, §704(b)
            # depreciation = tax depreciation), give or take the cent each K-1 line rounds.
            assert abs(k1.item_l.net_income - flip_year.capital[pid].net_income) <= Decimal("0.03")
            # Item L carries into next year's beginning.
            assert k1.item_l.beginning == tax_capital.get(pid, Decimal("0.00"))
            assert form.book_capital[pid].beginning == book_capital.get(pid, Decimal("0.00"))
        tax_capital = {k1.partner.partner_id: k1.item_l.ending for k1 in form.k1s}
        book_capital = {pid: s.ending for pid, s in form.book_capital.items()}
    # §704(b): 100 % bonus-like depreciation drives the investor into deficit (allowed: it has a DRO),
    # which GAAP book capital (straight-line) would hide.
    assert flip.year(2025).capital["INV"].ending < 0 < book_capital["INV"]
    assert flip.year(2025).capital["INV"].contributed_cash == Decimal("700000.00")
