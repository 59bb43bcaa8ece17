"""One call from an SPV's books to every year's return: assets, flip, capital accounts, 1065s, K-1s.

Why: the app holds the facts (assets and ports, the deal's terms, partners, each year's receipts,
costs, cash paid out, balance sheet) and should not re-implement the order of operations. `prepare`
runs the whole chain in the only correct order, year after year, carrying each partner's tax-basis
capital (K-1 item L) and §704(b) capital into the next year, so what the investor portal shows (flip
year, IRR to date, capital statement) and what the K-1 says come from one computation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.assets import Asset, AssetRegister, build_register
from pipelet_app.domain.tax.books import partner_years, projection_for
from pipelet_app.domain.tax.flip import FlipResult, FlipTerms, run_flip
from pipelet_app.domain.tax.form1065 import Form1065, compute_return
from pipelet_app.domain.tax.inputs import (
    BalanceSheet,
    Form1065Input,
    Liabilities,
    PartnerInfo,
    PartnershipInfo,
    YearFigures,
)
from pipelet_app.domain.tax.macrs import PlacedBasis, TaxYear

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class YearBooks:
    """One calendar year of the SPV's books, in cents. Depreciation and credits are not inputs: they
    come from the asset register. `contributions` are by partner id."""

    tax_year: int
    gross_receipts: Decimal
    operating_expenses: Decimal
    book_depreciation: Decimal
    distributable_cash: Decimal
    contributions: Mapping[str, Decimal] = field(default_factory=dict)
    interest_income: Decimal = ZERO
    ordinary_dividends: Decimal = ZERO
    tax_exempt_interest: Decimal = ZERO
    nondeductible_expenses: Decimal = ZERO
    other_deductions: Decimal = ZERO
    balance_beginning: BalanceSheet = field(default_factory=BalanceSheet)
    balance_ending: BalanceSheet = field(default_factory=BalanceSheet)
    liabilities_beginning: Liabilities = field(default_factory=Liabilities)
    liabilities_ending: Liabilities = field(default_factory=Liabilities)


@dataclass(frozen=True, slots=True)
class SpvBooks:
    """Everything about one SPV the returns are computed from. `years` are consecutive, oldest first."""

    partnership: PartnershipInfo
    terms: FlipTerms
    partners: Mapping[str, PartnerInfo]
    assets: tuple[Asset, ...]
    years: tuple[YearBooks, ...]
    credit_k1_code: str | None = None
    first_month: int = 1
    """First month of the tax year (1 = calendar year); `YearBooks.tax_year` is the year it begins in."""


@dataclass(frozen=True, slots=True)
class SpvResult:
    register: AssetRegister
    flip: FlipResult
    figures: dict[int, YearFigures]
    inputs: dict[int, Form1065Input]
    returns: dict[int, Form1065]


def prepare(books: SpvBooks) -> SpvResult:
    """Compute every year's return; refuses (naming each broken rule) on the first year that cannot be."""
    years = [y.tax_year for y in books.years]
    if not years or years != list(range(years[0], years[0] + len(years))):
        errors.raise_if([errors.violation(errors.TAX_YEAR, "years", "years_consecutive", years=years)])
    register = build_register(books.assets, books.first_month)
    figures: dict[int, YearFigures] = {}
    for year in books.years:
        placed = tuple(
            PlacedBasis(a.asset.asset_id, a.asset.placed_in_service, a.depreciable_basis)
            for a in register.assets
            if TaxYear.containing(a.asset.placed_in_service, books.first_month).year == year.tax_year
        )
        figures[year.tax_year] = YearFigures(
            gross_receipts=year.gross_receipts,
            operating_expenses=year.operating_expenses,
            tax_depreciation=register.depreciation(year.tax_year),
            book_depreciation=year.book_depreciation,
            interest_income=year.interest_income,
            ordinary_dividends=year.ordinary_dividends,
            tax_exempt_interest=year.tax_exempt_interest,
            nondeductible_expenses=year.nondeductible_expenses,
            other_deductions=year.other_deductions,
            credits=register.credits_placed_in(year.tax_year),
            credit_k1_code=books.credit_k1_code,
            placed_in_service=placed,
        )
    early = [
        a.asset.asset_id
        for a in register.assets
        if TaxYear.containing(a.asset.placed_in_service, books.first_month).year < years[0]
    ]
    if early:
        errors.raise_if(
            [
                errors.violation(
                    errors.PIS_IN_YEAR, "assets", "placed_before_years", year=years[0], assets=early
                )
            ]
        )
    flip = run_flip(
        books.terms,
        [
            projection_for(y.tax_year, figures[y.tax_year], y.distributable_cash, y.contributions)
            for y in books.years
        ],
    )
    inputs: dict[int, Form1065Input] = {}
    returns: dict[int, Form1065] = {}
    tax_capital: dict[str, Decimal] = {}
    book_capital: dict[str, Decimal] = {}
    for year in books.years:
        data = Form1065Input(
            partnership=books.partnership,
            tax_year=TaxYear.starting(year.tax_year, books.first_month),
            figures=figures[year.tax_year],
            partners=partner_years(flip, year.tax_year, books.partners, tax_capital, book_capital),
            balance_beginning=year.balance_beginning,
            balance_ending=year.balance_ending,
            liabilities_beginning=year.liabilities_beginning,
            liabilities_ending=year.liabilities_ending,
        )
        form = compute_return(data)
        inputs[year.tax_year] = data
        returns[year.tax_year] = form
        tax_capital = {k1.partner.partner_id: k1.item_l.ending for k1 in form.k1s}
        book_capital = {pid: statement.ending for pid, statement in form.book_capital.items()}
    return SpvResult(register, flip, figures, inputs, returns)
