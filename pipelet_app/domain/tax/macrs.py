"""MACRS depreciation from the published IRS tables, with the convention chosen by the 40 % test.

Why tables and not a formula: the IRS rounds and adjusts each column (see `rules.MACRS_TABLES`), and
returns are expected to match Pub. 946 to the hundredth of a percent. The schedule of an asset is the
table percentage times its depreciable basis (after bonus and the §30C reduction), rounded to the cent,
with the last recovery year taking the rounding remainder so the whole basis, and no more, is recovered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.errors import TaxValidationError
from pipelet_app.domain.tax.rules import (
    MACRS_CLASSES,
    MACRS_EFFECTIVE_FROM,
    MACRS_TABLE_NAMES,
    MACRS_TABLES,
    MID_QUARTER_THRESHOLD,
    Convention,
    macrs_table_rule,
    rule_on,
)

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def to_cent(amount: Decimal) -> Decimal:
    """Round money to the cent, half up, as the forms do."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class TaxYear:
    """A twelve-month tax year; `year` is the year it begins in (the form's "tax year beginning")."""

    start: date
    end: date

    @classmethod
    def calendar(cls, year: int) -> TaxYear:
        return cls(date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def starting(cls, year: int, first_month: int = 1) -> TaxYear:
        """The twelve-month year beginning on the 1st of `first_month` of `year` (1 = calendar year)."""
        if not 1 <= first_month <= 12:
            raise ValueError(f"first_month must be 1-12, got {first_month}")
        if first_month == 1:
            return cls.calendar(year)
        return cls(date(year, first_month, 1), date(year + 1, first_month, 1) - timedelta(days=1))

    @classmethod
    def containing(cls, day: date, first_month: int = 1) -> TaxYear:
        """The tax year (beginning on the 1st of `first_month`) that `day` falls in."""
        return cls.starting(day.year if day.month >= first_month else day.year - 1, first_month)

    @property
    def year(self) -> int:
        return self.start.year

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def quarter_of(self, day: date) -> int:
        """Quarter (1-4) of this tax year holding `day`; quarters are three-month blocks from `start`."""
        if not self.contains(day):
            raise TaxValidationError(
                [
                    errors.violation(
                        errors.PIS_IN_YEAR,
                        "placed_in_service",
                        "outside_year_span",
                        day=day,
                        start=self.start,
                        end=self.end,
                    )
                ]
            )
        months = (day.year - self.start.year) * 12 + day.month - self.start.month
        if day.day < self.start.day:
            months -= 1
        return min(months // 3 + 1, 4)


def macrs_percentages(recovery_class: int, convention: Convention | str) -> tuple[Decimal, ...]:
    """Percent of basis per recovery year, exactly as IRS Pub. 946 Tables A-1..A-5 publish them.

    Refuses (with the rule named) any class or convention the tables here do not hold, rather than
    computing a figure the IRS never printed.
    """
    try:
        conv = Convention(convention)
    except ValueError:
        raise TaxValidationError(
            [errors.violation(errors.MACRS_CONVENTION, "convention", "convention", convention=convention)]
        ) from None
    if (recovery_class, conv) not in MACRS_TABLES:
        raise TaxValidationError(
            [
                errors.violation(
                    errors.MACRS_CLASS,
                    "recovery_class",
                    "class_not_in_tables",
                    recovery_class=recovery_class,
                    held=MACRS_CLASSES,
                )
            ]
        )
    return macrs_table_rule(recovery_class, conv).value


def macrs_table_name(convention: Convention) -> str:
    return MACRS_TABLE_NAMES[convention]


@dataclass(frozen=True, slots=True)
class PlacedBasis:
    """An asset's depreciable basis and placed-in-service date, as the 40 % test sees it."""

    asset_id: str
    placed_in_service: date
    basis: Decimal


@dataclass(frozen=True, slots=True)
class ConventionChoice:
    """Outcome of the mid-quarter test for one tax year, with the figures that decided it."""

    mid_quarter: bool
    last_quarter_basis: Decimal
    total_basis: Decimal
    last_quarter_share: Decimal
    threshold: Decimal
    conventions: dict[str, Convention]


def choose_convention(tax_year: TaxYear, placed: Sequence[PlacedBasis]) -> ConventionChoice:
    """Half-year unless MORE than 40 % of the year's depreciable bases went into service in Q4.

    Per Pub. 946 the test covers all MACRS personal property placed in service in the tax year (the
    caller passes the basis after the §30C reduction and before bonus; nonresidential real property and
    property placed in service and disposed of in the same year are to be left out by the caller). When
    mid-quarter applies, each asset takes the table of its own quarter.
    """
    violations = [
        errors.violation(
            errors.PIS_IN_YEAR,
            f"asset {p.asset_id}.placed_in_service",
            "outside_year_span",
            day=p.placed_in_service,
            start=tax_year.start,
            end=tax_year.end,
        )
        for p in placed
        if not tax_year.contains(p.placed_in_service)
    ]
    errors.raise_if(violations)
    threshold = rule_on(MID_QUARTER_THRESHOLD, tax_year.start).value
    total = sum((p.basis for p in placed), Decimal(0))
    last = sum((p.basis for p in placed if tax_year.quarter_of(p.placed_in_service) == 4), Decimal(0))
    share = last / total if total > 0 else Decimal(0)
    mid_quarter = share > threshold
    conventions = {
        p.asset_id: Convention.mid_quarter(tax_year.quarter_of(p.placed_in_service))
        if mid_quarter
        else Convention.HY
        for p in placed
    }
    return ConventionChoice(mid_quarter, last, total, share, threshold, conventions)


@dataclass(frozen=True, slots=True)
class DepreciationYear:
    """One recovery year of one asset: the tax year it falls in, the table rate and the deduction."""

    recovery_year: int
    tax_year: int
    rate_pct: Decimal
    amount: Decimal


def macrs_schedule(
    depreciable_basis: Decimal,
    recovery_class: int,
    convention: Convention,
    first_tax_year: int,
    placed_in_service: date | None = None,
) -> tuple[DepreciationYear, ...]:
    """Yearly MACRS deductions of `depreciable_basis` (the basis left after bonus), to the cent.

    Each year is basis x table % rounded to the cent; the last year takes whatever remains so that
    the deductions sum exactly to the basis (the tables themselves sum to 100 %).
    """
    if placed_in_service is not None and placed_in_service < MACRS_EFFECTIVE_FROM:
        raise TaxValidationError(
            [errors.violation(errors.MACRS_CLASS, "placed_in_service", "macrs_after_1986")]
        )
    table = macrs_percentages(recovery_class, convention)
    rows: list[DepreciationYear] = []
    taken = Decimal(0)
    for index, pct in enumerate(table):
        if index == len(table) - 1:
            amount = depreciable_basis - taken
        else:
            amount = to_cent(depreciable_basis * pct / HUNDRED)
        taken += amount
        rows.append(DepreciationYear(index + 1, first_tax_year + index, pct, amount))
    return tuple(rows)


def amount_for_year(schedule: Iterable[DepreciationYear], tax_year: int) -> Decimal:
    """The deduction a schedule gives in `tax_year` (zero outside the recovery period)."""
    return sum((row.amount for row in schedule if row.tax_year == tax_year), Decimal(0))
