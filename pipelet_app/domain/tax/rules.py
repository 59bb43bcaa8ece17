"""Every tax rate, class, table and date the tax-equity module uses, as data with an effective date.

Why one module: tax law changes (the 2025 reconciliation act moved bonus depreciation overnight, §30C
ends on 30 June 2026). Keeping each fact here, with the date it took effect and where it comes from,
means a change of law is one new row, reviewable on its own, instead of a hunt for literals. Nothing
else in `pipelet_app.domain.tax` may hard-code a rate or a date; it asks this module.

Facts the project could not settle (the recovery class of an EV charger, the Schedule K-1 box 15 code
for the §30C credit) are not guessed here: they are required inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Generic, TypeVar

from pipelet_app.domain.tax.errors import RULE_NOT_IN_FORCE, RuleViolation, Sentence, TaxValidationError

T = TypeVar("T")

PUB_946 = "IRS Publication 946, How To Depreciate Property, Appendix A"


@dataclass(frozen=True, slots=True)
class Rule(Generic[T]):
    """One fact of tax law: its value, the first date it applies to, and its source.

    `effective_from` is compared with the date that matters for the rule (placed-in-service or
    acquisition date, first day of the tax year); `effective_to` is inclusive and None while in force.
    """

    key: str
    value: T
    effective_from: date
    effective_to: date | None
    source: str

    def applies_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class RuleNotFound(TaxValidationError, LookupError):
    """No rule covers the date asked about; callers must refuse rather than fall back to a guess.

    A `TaxValidationError` (rule RULE-NOT-IN-FORCE, field = the rule's key), so a date outside what the
    table holds reaches the user as a named refusal, never as a crash.
    """

    def __init__(self, key: str, words: Sentence) -> None:
        super().__init__([RuleViolation(RULE_NOT_IN_FORCE, key, str(words), words)])


def rule_on(rules: tuple[Rule[T], ...], day: date) -> Rule[T]:
    """The single rule of `rules` in force on `day`; refuses when none (or, by mistake, two) apply."""
    matches = [rule for rule in rules if rule.applies_on(day)]
    if not matches:
        key = rules[0].key if rules else "?"
        raise RuleNotFound(key, Sentence("no_rule", (("key", key), ("day", day))))
    if len(matches) > 1:
        raise RuleNotFound(
            matches[0].key,
            Sentence("rules_overlap", (("key", matches[0].key), ("count", len(matches)), ("day", day))),
        )
    return matches[0]


# --------------------------------------------------------------------------------------------------
# MACRS (GDS) percentage tables, IRS Pub. 946 Appendix A, percent of the depreciable basis per
# recovery year. Published tables, not formula output: the IRS rounds each year and adjusts (e.g. the
# 7-year column of Table A-3 starts 17.85 and ends 3.34 although the formula gives 17.86 and 3.33), so
# returns must use these figures. 3-, 5- and 7-year property use 200 % declining balance and 15-year
# property 150 %, each switching to straight line. MACRS applies to property placed in service after
# 1986; the tables have not changed since.
# --------------------------------------------------------------------------------------------------


class Convention(StrEnum):
    """Half-year, or mid-quarter by the quarter of the tax year the property was placed in service."""

    HY = "HY"
    MQ1 = "MQ1"
    MQ2 = "MQ2"
    MQ3 = "MQ3"
    MQ4 = "MQ4"

    @classmethod
    def mid_quarter(cls, quarter: int) -> Convention:
        return {1: cls.MQ1, 2: cls.MQ2, 3: cls.MQ3, 4: cls.MQ4}[quarter]


MACRS_CLASSES: tuple[int, ...] = (3, 5, 7, 15)
MACRS_EFFECTIVE_FROM = date(1987, 1, 1)


def _pct(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values)


MACRS_TABLE_NAMES: dict[Convention, str] = {
    Convention.HY: "Table A-1 (half-year convention)",
    Convention.MQ1: "Table A-2 (mid-quarter convention, placed in service in first quarter)",
    Convention.MQ2: "Table A-3 (mid-quarter convention, placed in service in second quarter)",
    Convention.MQ3: "Table A-4 (mid-quarter convention, placed in service in third quarter)",
    Convention.MQ4: "Table A-5 (mid-quarter convention, placed in service in fourth quarter)",
}

# fmt: off
MACRS_TABLES: dict[tuple[int, Convention], tuple[Decimal, ...]] = {
    (3, Convention.HY): _pct("33.33", "44.45", "14.81", "7.41"),
    (5, Convention.HY): _pct("20.00", "32.00", "19.20", "11.52", "11.52", "5.76"),
    (7, Convention.HY): _pct("14.29", "24.49", "17.49", "12.49", "8.93", "8.92", "8.93", "4.46"),
    (15, Convention.HY): _pct("5.00", "9.50", "8.55", "7.70", "6.93", "6.23", "5.90", "5.90", "5.91",
                              "5.90", "5.91", "5.90", "5.91", "5.90", "5.91", "2.95"),
    (3, Convention.MQ1): _pct("58.33", "27.78", "12.35", "1.54"),
    (5, Convention.MQ1): _pct("35.00", "26.00", "15.60", "11.01", "11.01", "1.38"),
    (7, Convention.MQ1): _pct("25.00", "21.43", "15.31", "10.93", "8.75", "8.74", "8.75", "1.09"),
    (15, Convention.MQ1): _pct("8.75", "9.13", "8.21", "7.39", "6.65", "5.99", "5.90", "5.91", "5.90",
                               "5.91", "5.90", "5.91", "5.90", "5.91", "5.90", "0.74"),
    (3, Convention.MQ2): _pct("41.67", "38.89", "14.14", "5.30"),
    (5, Convention.MQ2): _pct("25.00", "30.00", "18.00", "11.37", "11.37", "4.26"),
    (7, Convention.MQ2): _pct("17.85", "23.47", "16.76", "11.97", "8.87", "8.87", "8.87", "3.34"),
    (15, Convention.MQ2): _pct("6.25", "9.38", "8.44", "7.59", "6.83", "6.15", "5.91", "5.90", "5.91",
                               "5.90", "5.91", "5.90", "5.91", "5.90", "5.91", "2.21"),
    (3, Convention.MQ3): _pct("25.00", "50.00", "16.67", "8.33"),
    (5, Convention.MQ3): _pct("15.00", "34.00", "20.40", "12.24", "11.30", "7.06"),
    (7, Convention.MQ3): _pct("10.71", "25.51", "18.22", "13.02", "9.30", "8.85", "8.86", "5.53"),
    (15, Convention.MQ3): _pct("3.75", "9.63", "8.66", "7.80", "7.02", "6.31", "5.90", "5.90", "5.91",
                               "5.90", "5.91", "5.90", "5.91", "5.90", "5.91", "3.69"),
    (3, Convention.MQ4): _pct("8.33", "61.11", "20.37", "10.19"),
    (5, Convention.MQ4): _pct("5.00", "38.00", "22.80", "13.68", "10.94", "9.58"),
    (7, Convention.MQ4): _pct("3.57", "27.55", "19.68", "14.06", "10.04", "8.73", "8.73", "7.64"),
    (15, Convention.MQ4): _pct("1.25", "9.88", "8.89", "8.00", "7.20", "6.48", "5.90", "5.90", "5.90",
                               "5.91", "5.90", "5.91", "5.90", "5.91", "5.90", "5.17"),
}
# fmt: on


def macrs_table_rule(recovery_class: int, convention: Convention) -> Rule[tuple[Decimal, ...]]:
    """A published table as a `Rule`: value, effective date (property placed in service after 1986) and
    source, so the table can be cited next to the figures it produced."""
    table = MACRS_TABLES[(recovery_class, convention)]
    source = f"{PUB_946}, {MACRS_TABLE_NAMES[convention]}, {recovery_class}-year property"
    return Rule(f"macrs_{recovery_class}_{convention.value}", table, MACRS_EFFECTIVE_FROM, None, source)


# Mid-quarter test (§168(d)(3), Pub. 946 ch. 4): the mid-quarter convention applies to all property
# placed in service in a tax year when MORE than this share of that year's depreciable bases was placed
# in service in the last three months of the tax year.
MID_QUARTER_THRESHOLD: tuple[Rule[Decimal], ...] = (
    Rule("mid_quarter_threshold", Decimal("0.40"), MACRS_EFFECTIVE_FROM, None, "IRC §168(d)(3); Pub. 946"),
)

# Solar energy property is 5-year (§168(e)(3)(B)(vi)); EV chargers have no authoritative class, so the
# asset's class is a required input and this mapping only documents the settled case.
SETTLED_RECOVERY_CLASSES: dict[str, int] = {"solar_energy_property": 5}


# --------------------------------------------------------------------------------------------------
# Bonus depreciation (§168(k)). Keyed on acquisition date for the 2025 reinstatement, on the
# placed-in-service year for the earlier phase-down.
# --------------------------------------------------------------------------------------------------

# Property acquired AND placed in service after this date gets 100 % (P.L. 119-21, §168(k) as amended).
BONUS_100_ACQUIRED_AFTER = date(2025, 1, 19)

BONUS_FULL: tuple[Rule[Decimal], ...] = (
    Rule("bonus_full", Decimal("1.00"), date(2025, 1, 20), None, "IRC §168(k)(1) as amended by P.L. 119-21"),
)

# The election to take 40 % instead of 100 % for the first tax year ending after 19 January 2025.
BONUS_REDUCED_ELECTION: tuple[Rule[Decimal], ...] = (
    Rule("bonus_reduced_election", Decimal("0.40"), date(2025, 1, 20), None, "IRC §168(k)(10), P.L. 119-21"),
)

# Phase-down for property acquired on or before 19 January 2025, by the year it is placed in service
# (§168(k)(6)(A) as enacted by the TCJA).
BONUS_PHASE_DOWN: tuple[Rule[Decimal], ...] = (
    Rule("bonus_phase_down", Decimal("0.80"), date(2023, 1, 1), date(2023, 12, 31), "IRC §168(k)(6)(A)(ii)"),
    Rule("bonus_phase_down", Decimal("0.60"), date(2024, 1, 1), date(2024, 12, 31), "IRC §168(k)(6)(A)(iii)"),
    Rule("bonus_phase_down", Decimal("0.40"), date(2025, 1, 1), date(2025, 12, 31), "IRC §168(k)(6)(A)(iv)"),
    Rule("bonus_phase_down", Decimal("0.20"), date(2026, 1, 1), date(2026, 12, 31), "IRC §168(k)(6)(A)(v)"),
    Rule("bonus_phase_down", Decimal("0.00"), date(2027, 1, 1), None, "IRC §168(k)(6)(A)"),
)


# --------------------------------------------------------------------------------------------------
# §30C alternative fuel vehicle refueling property credit (Form 8911), as amended by the IRA (property
# placed in service after 2022) and ended by P.L. 119-21 for property placed in service after 30 June 2026.
# --------------------------------------------------------------------------------------------------

SECTION_30C_EFFECTIVE_FROM = date(2023, 1, 1)
SECTION_30C_LAST_PLACED_IN_SERVICE = date(2026, 6, 30)

SECTION_30C_BASE_RATE: tuple[Rule[Decimal], ...] = (
    Rule(
        "30c_base_rate",
        Decimal("0.06"),
        SECTION_30C_EFFECTIVE_FROM,
        SECTION_30C_LAST_PLACED_IN_SERVICE,
        "IRC §30C(a), (e)(2)",
    ),
)
SECTION_30C_PWA_RATE: tuple[Rule[Decimal], ...] = (
    Rule(
        "30c_pwa_rate",
        Decimal("0.30"),
        SECTION_30C_EFFECTIVE_FROM,
        SECTION_30C_LAST_PLACED_IN_SERVICE,
        "IRC §30C(a), (g) prevailing wage and apprenticeship",
    ),
)
SECTION_30C_CAP_PER_ITEM: tuple[Rule[Decimal], ...] = (
    Rule(
        "30c_cap_per_item",
        Decimal("100000.00"),
        SECTION_30C_EFFECTIVE_FROM,
        SECTION_30C_LAST_PLACED_IN_SERVICE,
        "IRC §30C(b)(1); each charging port is a single item",
    ),
)
# Taxpayer identification numbers (SSN, EIN) have nine digits.
TIN_DIGITS = 9

# Eligible census tract: 11-digit 2020 census tract GEOID (2 state + 3 county + 6 tract digits).
CENSUS_TRACT_GEOID_DIGITS = 11


# --------------------------------------------------------------------------------------------------
# Partnership flip safe harbour (Rev. Proc. 2007-65) and Form 1065 thresholds.
# --------------------------------------------------------------------------------------------------

FLIP_SAFE_HARBOUR_EFFECTIVE_FROM = date(2007, 10, 19)
_RP = "Rev. Proc. 2007-65"
SAFE_HARBOUR_DEVELOPER_MIN_SHARE: tuple[Rule[Decimal], ...] = (
    Rule(
        "safe_harbour_developer_min_share",
        Decimal("0.01"),
        FLIP_SAFE_HARBOUR_EFFECTIVE_FROM,
        None,
        f"{_RP} §4.02(1)",
    ),
)
SAFE_HARBOUR_INVESTOR_POST_FLIP_MIN_OF_LARGEST: tuple[Rule[Decimal], ...] = (
    Rule(
        "safe_harbour_investor_post_flip",
        Decimal("0.05"),
        FLIP_SAFE_HARBOUR_EFFECTIVE_FROM,
        None,
        f"{_RP} §4.02(2)",
    ),
)
SAFE_HARBOUR_INVESTOR_MIN_INVESTMENT: tuple[Rule[Decimal], ...] = (
    Rule(
        "safe_harbour_min_investment",
        Decimal("0.20"),
        FLIP_SAFE_HARBOUR_EFFECTIVE_FROM,
        None,
        f"{_RP} §4.02(3)",
    ),
)

# Schedule B question 4: Schedules L, M-1, M-2 and K-1 item L are optional when receipts and assets are
# under these limits (and K-1s are furnished on time, no Schedule M-3). As printed on the 2024-2025 forms.
_SCH_B = "Form 1065 (2024-2025), Schedule B question 4"
SMALL_PARTNERSHIP_RECEIPTS_LIMIT: tuple[Rule[Decimal], ...] = (
    Rule("small_partnership_receipts", Decimal("250000.00"), date(2024, 1, 1), None, f"{_SCH_B}a"),
)
SMALL_PARTNERSHIP_ASSETS_LIMIT: tuple[Rule[Decimal], ...] = (
    Rule("small_partnership_assets", Decimal("1000000.00"), date(2024, 1, 1), None, f"{_SCH_B}b"),
)
# Schedule B question 2a/2b (and Schedule B-1): owners of 50 % or more of profit, loss or capital.
SCHEDULE_B_OWNER_THRESHOLD: tuple[Rule[Decimal], ...] = (
    Rule(
        "schedule_b_owner_threshold",
        Decimal("0.50"),
        date(2024, 1, 1),
        None,
        "Form 1065 (2024-2025), Sch. B q. 2",
    ),
)

# Forms this module lays out: the 2024-2025 Form 1065 and Schedule K-1 line numbering. Earlier years are
# refused; later years are assumed to keep the layout until a new row says otherwise (check each
# January when the IRS publishes the new year's forms).
FORM_1065_REVISIONS: tuple[Rule[str], ...] = (
    Rule(
        "form_1065_layout",
        "2024-2025",
        date(2024, 1, 1),
        None,
        "Form 1065 and Schedule K-1 (Form 1065), 2024-2025",
    ),
)


# --------------------------------------------------------------------------------------------------
# Filing deadlines (IRC §6072(b) as amended in 2015, §6081; Form 7004): a partnership return and its
# K-1s are due the 15th day of the 3rd month after the tax year ends; an automatic extension adds 6
# months. A due date on a Saturday or Sunday moves to the next weekday (§7503); legal holidays are not
# modelled here and must be checked by the preparer.
# --------------------------------------------------------------------------------------------------

FORM_1065_DUE_MONTHS_AFTER_YEAR_END: tuple[Rule[int], ...] = (
    Rule("form_1065_due_months", 3, date(2016, 1, 1), None, "IRC §6072(b)"),
)
FORM_1065_DUE_DAY: tuple[Rule[int], ...] = (
    Rule("form_1065_due_day", 15, date(2016, 1, 1), None, "IRC §6072(b)"),
)
FORM_1065_EXTENSION_MONTHS: tuple[Rule[int], ...] = (
    Rule("form_1065_extension_months", 6, date(2016, 1, 1), None, "Treas. Reg. §1.6081-2; Form 7004"),
)
