"""Bonus (special) depreciation under §168(k), by acquisition date and placed-in-service date.

Why by acquisition date: since P.L. 119-21 the same charger placed in service on the same day gets 100 %
or 40 % depending on when the binding contract was signed, so the acquisition date is a required input
of every asset, not a detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.errors import RuleViolation, TaxValidationError
from pipelet_app.domain.tax.rules import (
    BONUS_100_ACQUIRED_AFTER,
    BONUS_FULL,
    BONUS_PHASE_DOWN,
    BONUS_REDUCED_ELECTION,
    RuleNotFound,
    rule_on,
)


class BonusElection(StrEnum):
    """What the partnership elected for the asset's class and year.

    `DEFAULT` takes the statutory percentage; `REDUCED_40` is the §168(k)(10) election of 40 % for the
    first tax year ending after 19 January 2025; `ELECT_OUT` is the §168(k)(7) election out.
    """

    DEFAULT = "default"
    REDUCED_40 = "reduced_40"
    ELECT_OUT = "elect_out"


@dataclass(frozen=True, slots=True)
class BonusDecision:
    """The bonus rate applied and why (the rule's source), for the depreciation schedule's audit trail."""

    rate: Decimal
    source: str


def bonus_rate(
    acquired: date,
    placed_in_service: date,
    election: BonusElection = BonusElection.DEFAULT,
    tax_year_end: date | None = None,
) -> BonusDecision:
    """Bonus percentage (0-1) for one asset.

    `tax_year_end` is needed only to check the 40 % election: it is available for the first tax year
    ending after 19 January 2025.
    """
    if placed_in_service < acquired:
        raise TaxValidationError(
            [
                errors.violation(
                    errors.PIS_AFTER_ACQUIRED,
                    "placed_in_service",
                    "before_acquired",
                    day=placed_in_service,
                    acquired=acquired,
                )
            ]
        )
    if election is BonusElection.ELECT_OUT:
        return BonusDecision(Decimal("0.00"), "election out, IRC §168(k)(7)")
    try:
        if acquired > BONUS_100_ACQUIRED_AFTER:
            if election is BonusElection.REDUCED_40:
                year_end = tax_year_end or date(placed_in_service.year, 12, 31)
                if not _first_year_ending_after_cutoff(year_end):
                    raise TaxValidationError(
                        [errors.violation(errors.BONUS_ELECTION, "bonus_election", "election_40_first_year")]
                    )
                rule = rule_on(BONUS_REDUCED_ELECTION, placed_in_service)
            else:
                rule = rule_on(BONUS_FULL, placed_in_service)
        else:
            if election is BonusElection.REDUCED_40:
                raise TaxValidationError(
                    [errors.violation(errors.BONUS_ELECTION, "bonus_election", "election_40_acquired")]
                )
            rule = rule_on(BONUS_PHASE_DOWN, placed_in_service)
    except RuleNotFound as exc:
        raise TaxValidationError(
            [
                RuleViolation(
                    errors.BONUS_DATE, "placed_in_service", exc.violations[0].message, exc.violations[0].words
                )
            ]
        ) from None
    return BonusDecision(rule.value, rule.source)


def _first_year_ending_after_cutoff(tax_year_end: date) -> bool:
    """A twelve-month tax year is the first ending after the cut-off if it ends within a year of it."""
    cutoff = BONUS_100_ACQUIRED_AFTER
    return cutoff < tax_year_end <= date(cutoff.year + 1, cutoff.month, cutoff.day)
