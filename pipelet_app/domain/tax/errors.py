"""Validation errors that name the rule that was broken.

Why a rule id and not just a message: the operator console shows open violations, and nothing may be
released while one is open; a stable id (`ALLOC-100`, `30C-CAP`, ...) lets the app track, filter and
test them without parsing prose. The message says what to fix, naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """One broken rule: `rule` is the stable id, `field` the input at fault, `message` the explanation."""

    rule: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.field}: {self.message}"


class TaxValidationError(ValueError):
    """Raised when inputs break one or more rules; carries every violation found, not just the first."""

    def __init__(self, violations: list[RuleViolation] | tuple[RuleViolation, ...]) -> None:
        self.violations: tuple[RuleViolation, ...] = tuple(violations)
        super().__init__("; ".join(str(v) for v in self.violations))


def raise_if(violations: list[RuleViolation]) -> None:
    """Raise `TaxValidationError` when `violations` is non-empty."""
    if violations:
        raise TaxValidationError(violations)


# Stable rule ids used across the package.
ALLOC_100 = "ALLOC-100"  # allocation percentages of a category must sum to exactly 100 %
PIS_IN_YEAR = "PIS-IN-YEAR"  # an asset reported as placed in service this year must be, by date
PIS_AFTER_ACQUIRED = "PIS-AFTER-ACQUIRED"
MACRS_CLASS = "MACRS-CLASS"
MACRS_CONVENTION = "MACRS-CONVENTION"
BONUS_DATE = "BONUS-DATE"
BONUS_ELECTION = "BONUS-ELECTION"
C30_DEADLINE = "30C-DEADLINE"
C30_CAP = "30C-CAP"
C30_TRACT = "30C-TRACT"
C30_BASIS = "30C-BASIS"
C30_BEFORE_EFFECTIVE = "30C-EFFECTIVE"
C30_K1_CODE = "30C-K1-CODE"
PARTNER_TIN = "K1-TIN"
PARTNER_UNKNOWN = "PARTNER-UNKNOWN"
CAPITAL_DEFICIT = "704B-DEFICIT"
BALANCE_SHEET = "SCH-L-BALANCE"
SAFE_HARBOUR = "RP-2007-65"
TAX_YEAR = "TAX-YEAR"
NEGATIVE = "NEGATIVE-AMOUNT"
RULE_NOT_IN_FORCE = "RULE-NOT-IN-FORCE"


def refuse(rule: str, field: str, message: str) -> NoReturn:
    """Raise a `TaxValidationError` with one violation; shorthand for single-rule checks."""
    raise TaxValidationError([RuleViolation(rule, field, message)])
