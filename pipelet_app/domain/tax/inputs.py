"""Plain input dataclasses for one SPV's Form 1065 and its partners' Schedules K-1.

Why plain dataclasses: the return is computed in `domain/` with no database, so the app (from its
tables), the CLI (from a file) and the benchmark (from a generator) all build the same inputs, and
tests can state a whole return in a few lines. All money is Decimal in cents; shares are fractions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.allocation import check_shares
from pipelet_app.domain.tax.errors import RuleViolation
from pipelet_app.domain.tax.macrs import PlacedBasis, TaxYear
from pipelet_app.domain.tax.rules import (
    FORM_1065_REVISIONS,
    SCHEDULE_B_OWNER_THRESHOLD,
    SMALL_PARTNERSHIP_ASSETS_LIMIT,
    SMALL_PARTNERSHIP_RECEIPTS_LIMIT,
    TIN_DIGITS,
    RuleNotFound,
    rule_on,
)

ZERO = Decimal("0.00")


class EntityType(StrEnum):
    """K-1 item I1 and the columns of the 1065 "Analysis of Net Income (Loss)"."""

    INDIVIDUAL = "Individual"
    CORPORATION = "Corporation"
    S_CORPORATION = "S corporation"
    PARTNERSHIP = "Partnership"
    LLC = "Limited liability company"
    TRUST = "Trust"
    ESTATE = "Estate"
    EXEMPT_ORGANIZATION = "Exempt organization"
    NOMINEE = "Nominee/Other"


@dataclass(frozen=True, slots=True)
class PartnershipInfo:
    """K-1 Part I and the 1065 header. `address` is the full mailing address, one line per element."""

    ein: str
    name: str
    address: tuple[str, ...]
    irs_center: str
    publicly_traded: bool = False
    principal_activity: str = "EV charging"
    principal_product: str = "Charging services"
    business_code: str = ""
    date_business_started: date | None = None
    entity_kind: str = "Domestic limited liability company"


@dataclass(frozen=True, slots=True)
class PartnerInfo:
    """K-1 Part II identity. `tin` may be empty here so the missing TIN is reported, not crashed on."""

    partner_id: str
    tin: str
    name: str
    address: tuple[str, ...]
    general_partner: bool
    domestic: bool = True
    entity_type: EntityType = EntityType.CORPORATION
    passive_individual: bool = False
    contributed_built_in_gain_property: bool = False


@dataclass(frozen=True, slots=True)
class PartnerYear:
    """One partner's terms and movements for the year.

    `tax_share` allocates every tax item (K-1 item J profit and loss %); `tax_share_ending` is the share
    in force on the last day when it differs. Distributions and guaranteed payments are actual amounts
    paid to this partner, not shares. Capital beginnings come from last year's K-1 (tax basis, item L)
    and §704(b) books (Schedule M-2).
    """

    partner: PartnerInfo
    tax_share: Decimal
    tax_capital_beginning: Decimal
    book_capital_beginning: Decimal
    cash_distributions: Decimal = ZERO
    property_distributions: Decimal = ZERO
    contributed_cash: Decimal = ZERO
    contributed_property: Decimal = ZERO
    guaranteed_payments_services: Decimal = ZERO
    guaranteed_payments_capital: Decimal = ZERO
    tax_share_beginning: Decimal | None = None
    tax_share_ending: Decimal | None = None
    recourse_share: Decimal | None = None
    section_704c_gain_beginning: Decimal = ZERO
    section_704c_gain_ending: Decimal = ZERO
    final_k1: bool = False
    line1_reallocation: Decimal = ZERO
    """Added to the partner's share of Schedule K line 1 after the split by `tax_share`: the flip's
    regulatory loss reallocation (+ loss taken off, - loss received). Must sum to zero over partners."""


@dataclass(frozen=True, slots=True)
class YearFigures:
    """The partnership's year, in cents: what Schedule K and M-1 are computed from.

    `operating_expenses` are the deductions on page 1 other than depreciation and guaranteed payments.
    `tax_depreciation` is MACRS plus bonus (from `assets.build_register`); `book_depreciation` is what
    the books charged. `credits` are Form 8911 §30C credits; `credit_k1_code` is the Schedule K-1
    box 15 code for them, a required input because the reference leaves it unsettled.
    """

    gross_receipts: Decimal
    operating_expenses: Decimal
    tax_depreciation: Decimal
    book_depreciation: Decimal
    interest_income: Decimal = ZERO
    ordinary_dividends: Decimal = ZERO
    tax_exempt_interest: Decimal = ZERO
    nondeductible_expenses: Decimal = ZERO
    other_deductions: Decimal = ZERO
    credits: Decimal = ZERO
    credit_k1_code: str | None = None
    placed_in_service: tuple[PlacedBasis, ...] = ()


@dataclass(frozen=True, slots=True)
class BalanceSheet:
    """Schedule L per books at one date (beginning or end of year)."""

    cash: Decimal = ZERO
    receivables: Decimal = ZERO
    other_current_assets: Decimal = ZERO
    depreciable_assets: Decimal = ZERO
    accumulated_depreciation: Decimal = ZERO
    land: Decimal = ZERO
    other_assets: Decimal = ZERO
    accounts_payable: Decimal = ZERO
    short_term_notes: Decimal = ZERO
    other_current_liabilities: Decimal = ZERO
    nonrecourse_loans: Decimal = ZERO
    loans_from_partners: Decimal = ZERO
    long_term_notes: Decimal = ZERO
    other_liabilities: Decimal = ZERO
    partners_capital: Decimal = ZERO

    @property
    def total_assets(self) -> Decimal:
        return (
            self.cash
            + self.receivables
            + self.other_current_assets
            + self.depreciable_assets
            - self.accumulated_depreciation
            + self.land
            + self.other_assets
        )

    @property
    def total_liabilities(self) -> Decimal:
        return (
            self.accounts_payable
            + self.short_term_notes
            + self.other_current_liabilities
            + self.nonrecourse_loans
            + self.loans_from_partners
            + self.long_term_notes
            + self.other_liabilities
        )

    @property
    def total_liabilities_and_capital(self) -> Decimal:
        return self.total_liabilities + self.partners_capital


@dataclass(frozen=True, slots=True)
class Liabilities:
    """Partnership liabilities by §752 kind, for K-1 item K."""

    nonrecourse: Decimal = ZERO
    qualified_nonrecourse: Decimal = ZERO
    recourse: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Form1065Input:
    """Everything one year's return needs."""

    partnership: PartnershipInfo
    tax_year: TaxYear
    figures: YearFigures
    partners: tuple[PartnerYear, ...]
    balance_beginning: BalanceSheet = field(default_factory=BalanceSheet)
    balance_ending: BalanceSheet = field(default_factory=BalanceSheet)
    liabilities_beginning: Liabilities = field(default_factory=Liabilities)
    liabilities_ending: Liabilities = field(default_factory=Liabilities)
    k1s_furnished_on_time: bool = True
    files_schedule_m3: bool = False


def validate_input(data: Form1065Input) -> list[RuleViolation]:
    """Every blocking rule the inputs break: ALLOC-100, K1-TIN, PIS-IN-YEAR, SCH-L-BALANCE, 30C code."""
    out: list[RuleViolation] = []
    day = data.tax_year.start
    try:
        rule_on(FORM_1065_REVISIONS, day)
        rule_on(SCHEDULE_B_OWNER_THRESHOLD, day)
        rule_on(SMALL_PARTNERSHIP_RECEIPTS_LIMIT, day)
        rule_on(SMALL_PARTNERSHIP_ASSETS_LIMIT, day)
    except RuleNotFound as exc:
        out.append(
            errors.violation(
                errors.TAX_YEAR,
                "tax_year",
                "year_not_supported",
                year=data.tax_year.year,
                reason=exc.violations[0].words or exc.violations[0].message,
            )
        )
    ids = [p.partner.partner_id for p in data.partners]
    if len(set(ids)) != len(ids):
        out.append(errors.violation(errors.PARTNER_UNKNOWN, "partners", "partner_ids_unique"))
    out.extend(check_shares({p.partner.partner_id: p.tax_share for p in data.partners}, "tax_share"))
    for attr in ("tax_share_beginning", "tax_share_ending"):
        given = {p.partner.partner_id: getattr(p, attr) for p in data.partners}
        if any(v is not None for v in given.values()):
            out.extend(
                check_shares(
                    {
                        p.partner.partner_id: v if v is not None else p.tax_share
                        for p, v in zip(data.partners, given.values(), strict=True)
                    },
                    attr,
                )
            )
    moved = sum((p.line1_reallocation for p in data.partners), ZERO)
    if moved != 0:
        out.append(errors.violation(errors.ALLOC_100, "line1_reallocation", "reallocations_sum", total=moved))
    recourse = {p.partner.partner_id: p.recourse_share for p in data.partners}
    if any(v is not None for v in recourse.values()):
        if any(v is None for v in recourse.values()):
            out.append(errors.violation(errors.ALLOC_100, "recourse_share", "recourse_all_or_none"))
        else:
            out.extend(check_shares({k: v for k, v in recourse.items() if v is not None}, "recourse_share"))
    for p in data.partners:
        for attr in (
            "cash_distributions",
            "property_distributions",
            "contributed_cash",
            "contributed_property",
            "guaranteed_payments_services",
            "guaranteed_payments_capital",
        ):
            if getattr(p, attr) < 0:
                out.append(
                    errors.violation(errors.NEGATIVE, f"partner {p.partner.partner_id}.{attr}", "negative")
                )
    for p in data.partners:
        tin = p.partner.tin.replace("-", "").strip()
        if not (len(tin) == TIN_DIGITS and tin.isdigit()):
            out.append(
                errors.violation(
                    errors.PARTNER_TIN,
                    f"partner {p.partner.partner_id}.tin",
                    "partner_tin",
                    name=p.partner.name,
                    tin=p.partner.tin,
                )
            )
    ein = data.partnership.ein.replace("-", "")
    if not (len(ein) == TIN_DIGITS and ein.isdigit()):
        out.append(errors.violation(errors.PARTNER_TIN, "partnership.ein", "ein", ein=data.partnership.ein))
    for placed in data.figures.placed_in_service:
        if not data.tax_year.contains(placed.placed_in_service):
            out.append(
                errors.violation(
                    errors.PIS_IN_YEAR,
                    f"asset {placed.asset_id}.placed_in_service",
                    "outside_year",
                    day=placed.placed_in_service,
                    year=data.tax_year.year,
                )
            )
    if data.figures.credits and not data.figures.credit_k1_code:
        out.append(errors.violation(errors.C30_K1_CODE, "figures.credit_k1_code", "no_k1_code"))
    for name, sheet in (
        ("balance_beginning", data.balance_beginning),
        ("balance_ending", data.balance_ending),
    ):
        if sheet.total_assets != sheet.total_liabilities_and_capital:
            out.append(
                errors.violation(
                    errors.BALANCE_SHEET,
                    name,
                    "balance_sheet",
                    assets=sheet.total_assets,
                    liabilities=sheet.total_liabilities_and_capital,
                )
            )
    return out
