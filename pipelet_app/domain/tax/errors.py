"""Validation errors that name the rule that was broken.

Why a rule id and not just a message: the operator console shows open violations, and nothing may be
released while one is open; a stable id (`ALLOC-100`, `30C-CAP`, ...) lets the app track, filter and
test them without parsing prose. The message says what to fix, naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import NoReturn

#: every rule violation's explanation in English (`RuleViolation.message`: CLI, API, mail); a page words
#: the same codes through the catalogue (`tax_rule.<code>`, same placeholders) in the reader's language,
#: from the arguments `Sentence` keeps (numbers and dates as values, not as text)
SENTENCES = {
    # partnership flip (Rev. Proc. 2007-65 and the allocations)
    "no_investor": "no INVESTOR partner: nothing decides the flip",
    "developer_share": "developer keeps {share} %, less than 1 % of the item",
    "investor_post_flip": "investor keeps {share} % after the flip, less than 5 % of its largest share",
    "unknown_partners": "unknown partners {partners}",
    "no_partner_details": "no partner details for {partners}",
    "share_range": "share {share} % is outside 0-100 %",
    "shares_sum": "shares sum to {total} %, not 100 % (partners: {partners})",
    "capital_deficit": "§704(b) capital account ends {year} at {ending}; {remedy}",
    "remedy_qio": "the partner has a QIO only: reallocate the loss creating the deficit",
    "remedy_none": "the partner has neither a DRO nor a QIO",
    # Form 1065 and the K-1s
    "year_not_supported": "not supported for {year}: {reason}",
    "partner_ids_unique": "partner ids must be unique",
    "reallocations_sum": "reallocations sum to {total}, not zero",
    "recourse_all_or_none": "give every partner a recourse share, or none",
    "negative": "cannot be negative",
    "partner_tin": "{name}: a K-1 needs a 9-digit TIN (item E), got {tin!r}",
    "ein": "{ein!r} is not a 9-digit EIN",
    "outside_year": "{day} is outside tax year {year}",
    "no_k1_code": "credits are claimed but no Schedule K-1 box 15 code is configured for them",
    "balance_sheet": "total assets {assets} differ from liabilities and capital {liabilities}",
    "capital_vs_m2": "Schedule L partners' capital {capital} differs from M-2 {m2}",
    "years_consecutive": "years must be consecutive and oldest first, got {years}",
    "placed_before_years": "placed in service before {year}: {assets}",
    # assets, MACRS and bonus depreciation
    "recovery_class_held": "{recovery_class} is not a recovery class held {held}",
    "before_acquired": "{day} is before the acquisition date {acquired}",
    "port_bases": "port bases total {ports}, more than the asset's cost basis {basis}",
    "port_year": "{day}: not in its asset's tax year {year}",
    "one_election": "one election per class and year, got {elections}",
    "outside_year_span": "{day} is outside tax year {start}..{end}",
    "convention": "{convention!r} is not one of HY, MQ1-MQ4",
    "class_not_in_tables": "{recovery_class}-year property is not in the tables held {held}",
    "macrs_after_1986": "MACRS applies to property placed in service after 1986",
    "election_40_first_year": "the 40 % election is only for the first tax year ending after 2025-01-19",
    "election_40_acquired": "the 40 % election applies to property acquired after 19 January 2025",
    "no_rule": "{key}: no rule in force on {day}",
    "rules_overlap": "{key}: {count} rules overlap on {day}",
    # §30C credits
    "basis_negative": "basis cannot be negative",
    "after_30c_deadline": "placed in service {day}, after the §30C deadline {deadline}",
    "before_30c_effective": "the per-port rules held here apply from {day}",
    "geoid": "{geoid!r} is not an 11-digit 2020 GEOID",
    "tract_ineligible": "tract {geoid} is neither low-income nor non-urban: no §30C credit",
    # the return's status (`domain.tax.release`)
    "status_actor": "a status change needs the user who made it",
    "release_blocked": "{count} validation error(s) open: {listed}",
    "credit_cap": (
        "claims {claimed}, more than the {allowed} allowed (rate x basis, capped at {cap} per port)"
    ),
}


class Violations(tuple):
    """Violations inside a sentence (a refused release names the open ones): `str()` joins their English
    texts with "; "; a page words each in its language."""

    __slots__ = ()

    def __str__(self) -> str:
        return "; ".join(str(v) for v in self)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A violation's explanation as (code of `SENTENCES`, arguments); an argument may be a `Sentence` itself
    (a reason inside a reason). `str()` is the English text."""

    code: str
    args: tuple[tuple[str, object], ...] = ()

    def __str__(self) -> str:
        return SENTENCES[self.code].format(
            **{name: str(value) if isinstance(value, Sentence) else value for name, value in self.args}
        )


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """One broken rule: `rule` is the stable id, `field` the input at fault, `message` the explanation,
    `words` the same explanation as a `Sentence` for a page in another language (None: English only)."""

    rule: str
    field: str
    message: str
    words: Sentence | None = dataclass_field(default=None, compare=False)

    def __str__(self) -> str:
        return f"[{self.rule}] {self.field}: {self.message}"


def violation(rule: str, field: str, code: str, **args: object) -> RuleViolation:
    """A `RuleViolation` whose explanation is `SENTENCES[code]` with `args`, kept for other languages."""
    words = Sentence(code, tuple(args.items()))
    return RuleViolation(rule, field, str(words), words)


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
