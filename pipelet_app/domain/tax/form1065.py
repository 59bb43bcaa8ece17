"""Form 1065 for one SPV and year: page-1 summary, Schedules K, L, M-1, M-2, Analysis of Net Income
(Loss), and every partner's Schedule K-1, computed from `inputs.Form1065Input`.

Why computed together: the K-1s are the partners' shares of Schedule K, item L must reconcile with the
K-1 boxes, and M-1 must land on the Analysis of Net Income line 1; computing them in one pass lets the
invariants be asserted where they are created (and tested with random inputs). Every amount allocated
by share is split with `allocation.allocate`, so the K-1s add up to Schedule K to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.allocation import allocate
from pipelet_app.domain.tax.capital import CapitalMovement, CapitalStatement, roll_forward
from pipelet_app.domain.tax.errors import RuleViolation
from pipelet_app.domain.tax.inputs import (
    BalanceSheet,
    EntityType,
    Form1065Input,
    Liabilities,
    PartnershipInfo,
    PartnerYear,
    validate_input,
)
from pipelet_app.domain.tax.k1 import K1, LINES, NET_INCOME_MINUS, NET_INCOME_PLUS, ItemJ, ItemK
from pipelet_app.domain.tax.macrs import TaxYear
from pipelet_app.domain.tax.rules import (
    SCHEDULE_B_OWNER_THRESHOLD,
    SMALL_PARTNERSHIP_ASSETS_LIMIT,
    SMALL_PARTNERSHIP_RECEIPTS_LIMIT,
    rule_on,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class IncomeSummary:
    """Form 1065 page 1 in brief: receipts, deductions by kind, ordinary business income (loss)."""

    gross_receipts: Decimal
    operating_expenses: Decimal
    guaranteed_payments: Decimal
    depreciation: Decimal
    total_deductions: Decimal
    ordinary_business_income: Decimal


@dataclass(frozen=True, slots=True)
class AnalysisOfNetIncome:
    """Form 1065 "Analysis of Net Income (Loss)": line 1 and its split by partner type (line 2)."""

    net_income: Decimal
    by_type: dict[tuple[str, str], Decimal]
    """Keyed by (row "general"/"limited", column: corporate, individual_active, individual_passive,
    partnership, exempt_organization, nominee_other)."""


ANALYSIS_COLUMNS: tuple[str, ...] = (
    "corporate",
    "individual_active",
    "individual_passive",
    "partnership",
    "exempt_organization",
    "nominee_other",
)


@dataclass(frozen=True, slots=True)
class ScheduleM1:
    """Reconciliation of income (loss) per books with income (loss) per return."""

    net_income_per_books: Decimal
    income_on_k_not_on_books: Decimal
    guaranteed_payments: Decimal
    expenses_on_books_not_on_k_depreciation: Decimal
    expenses_on_books_not_on_k_travel_entertainment: Decimal
    expenses_on_books_not_on_k_other: Decimal
    line5: Decimal
    income_on_books_not_on_k_tax_exempt_interest: Decimal
    deductions_on_k_not_on_books_depreciation: Decimal
    line8: Decimal
    income_per_return: Decimal

    @property
    def line4(self) -> Decimal:
        return (
            self.expenses_on_books_not_on_k_depreciation
            + self.expenses_on_books_not_on_k_travel_entertainment
            + self.expenses_on_books_not_on_k_other
        )


@dataclass(frozen=True, slots=True)
class ScheduleM2:
    """Analysis of partners' capital accounts (per books, the same basis as Schedule L)."""

    beginning: Decimal
    contributed_cash: Decimal
    contributed_property: Decimal
    net_income_per_books: Decimal
    other_increases: Decimal
    distributions_cash: Decimal
    distributions_property: Decimal
    other_decreases: Decimal
    ending: Decimal

    @property
    def line5(self) -> Decimal:
        return (
            self.beginning
            + self.contributed_cash
            + self.contributed_property
            + self.net_income_per_books
            + self.other_increases
        )

    @property
    def line8(self) -> Decimal:
        return self.distributions_cash + self.distributions_property + self.other_decreases


@dataclass(frozen=True, slots=True)
class ScheduleB:
    """The Schedule B answers that follow from the data (the rest need the preparer).

    Q1 type of entity; Q2a/Q2b whether an entity, or an individual or estate, owns 50 % or more of
    profit, loss or capital (then Schedule B-1 is due); Q4 the small-partnership test that makes
    Schedules L, M-1, M-2 and K-1 item L optional.
    """

    entity_kind: str
    q2a_entity_owns_50_pct: bool
    q2b_individual_owns_50_pct: bool
    q4a_receipts_under_limit: bool
    q4b_assets_under_limit: bool
    q4c_k1s_on_time: bool
    q4d_no_schedule_m3: bool

    @property
    def q4(self) -> bool:
        return (
            self.q4a_receipts_under_limit
            and self.q4b_assets_under_limit
            and self.q4c_k1s_on_time
            and (self.q4d_no_schedule_m3)
        )


@dataclass(frozen=True, slots=True)
class Form1065:
    """The computed return. `schedule_k` holds every line of `k1.LINES` (zero included)."""

    tax_year: TaxYear
    partnership: PartnershipInfo
    income: IncomeSummary
    schedule_k: dict[str, Decimal]
    analysis: AnalysisOfNetIncome
    schedule_l_beginning: BalanceSheet
    schedule_l_ending: BalanceSheet
    m1: ScheduleM1
    m2: ScheduleM2
    k1s: tuple[K1, ...]
    book_capital: dict[str, CapitalStatement]
    schedules_l_m_required: bool
    credit_code: str | None
    schedule_b: ScheduleB

    def k1_for(self, partner_id: str) -> K1:
        for k1 in self.k1s:
            if k1.partner.partner_id == partner_id:
                return k1
        raise KeyError(partner_id)


def compute_return(data: Form1065Input) -> Form1065:
    """Compute the 1065 and K-1s, refusing (TaxValidationError) inputs that break a rule."""
    errors.raise_if(validate_input(data))
    f = data.figures
    partners = data.partners
    ids = [p.partner.partner_id for p in partners]
    shares = {p.partner.partner_id: p.tax_share for p in partners}

    gp_services = {p.partner.partner_id: p.guaranteed_payments_services for p in partners}
    gp_capital = {p.partner.partner_id: p.guaranteed_payments_capital for p in partners}
    gp_total = sum(gp_services.values(), ZERO) + sum(gp_capital.values(), ZERO)
    deductions = f.operating_expenses + gp_total + f.tax_depreciation
    ordinary = f.gross_receipts - deductions
    income = IncomeSummary(
        f.gross_receipts, f.operating_expenses, gp_total, f.tax_depreciation, deductions, ordinary
    )

    per_partner: dict[str, dict[str, Decimal]] = {pid: {line.k_line: ZERO for line in LINES} for pid in ids}

    def spread(k_line: str, amount: Decimal) -> None:
        for pid, part in allocate(amount, shares).items():
            per_partner[pid][k_line] = part

    spread("1", ordinary)
    for p in partners:
        per_partner[p.partner.partner_id]["1"] += p.line1_reallocation
    spread("5", f.interest_income)
    spread("6a", f.ordinary_dividends)
    spread("13d", f.other_deductions)
    spread("15f", f.credits)
    spread("18a", f.tax_exempt_interest)
    spread("18c", f.nondeductible_expenses)
    for p in partners:
        pid = p.partner.partner_id
        row = per_partner[pid]
        row["4a"] = gp_services[pid]
        row["4b"] = gp_capital[pid]
        row["4c"] = gp_services[pid] + gp_capital[pid]
        row["19a"] = p.cash_distributions
        row["19b"] = p.property_distributions
        row["20a"] = row["5"] + row["6a"]
        row["14a"] = _self_employment(p, row)

    schedule_k = {line.k_line: sum((per_partner[pid][line.k_line] for pid in ids), ZERO) for line in LINES}
    net_income = _net_income(schedule_k)

    # Item L (tax basis) per partner and §704(b)/book capital per partner.
    book_income_total = (
        f.gross_receipts
        - f.operating_expenses
        - f.book_depreciation
        - gp_total
        + f.interest_income
        + f.ordinary_dividends
        + f.tax_exempt_interest
        - f.nondeductible_expenses
        - f.other_deductions
    )
    book_income = allocate(book_income_total, shares)
    k1s: list[K1] = []
    book_capital: dict[str, CapitalStatement] = {}
    liab_begin = _share_liabilities(data.liabilities_beginning, partners, beginning=True)
    liab_end = _share_liabilities(data.liabilities_ending, partners, beginning=False)
    for p in partners:
        pid = p.partner.partner_id
        book_capital[pid] = roll_forward(
            pid,
            data.tax_year.year,
            p.book_capital_beginning,
            CapitalMovement(
                contributed_cash=p.contributed_cash,
                contributed_property=p.contributed_property,
                net_income=book_income[pid],
                distributions_cash=p.cash_distributions,
                distributions_property=p.property_distributions,
            ),
        )
    capital_begin = _capital_shares({pid: s.beginning for pid, s in book_capital.items()}, shares)
    capital_end = _capital_shares({pid: s.ending for pid, s in book_capital.items()}, shares)
    for p in partners:
        pid = p.partner.partner_id
        row = per_partner[pid]
        begin_share = p.tax_share_beginning if p.tax_share_beginning is not None else p.tax_share
        end_share = p.tax_share_ending if p.tax_share_ending is not None else p.tax_share
        tax_statement = roll_forward(
            pid,
            data.tax_year.year,
            p.tax_capital_beginning,
            CapitalMovement(
                contributed_cash=p.contributed_cash,
                contributed_property=p.contributed_property,
                # Tax-basis capital: taxable income and tax-exempt income less losses and nondeductible
                # expenses, all in "current year net income (loss)"; guaranteed payments are paid to the
                # partner outside its capital account.
                net_income=_net_income(row) - row["4c"] + row["18a"] - row["18c"],
                distributions_cash=row["19a"],
                distributions_property=row["19b"],
            ),
        )
        k1s.append(
            K1(
                data.tax_year,
                data.partnership,
                p.partner,
                p.final_k1,
                ItemJ(begin_share, end_share, begin_share, end_share, capital_begin[pid], capital_end[pid]),
                ItemK(liab_begin[pid], liab_end[pid]),
                tax_statement,
                p.partner.contributed_built_in_gain_property,
                p.section_704c_gain_beginning,
                p.section_704c_gain_ending,
                row,
                f.credit_k1_code,
            )
        )

    m1 = _m1(data, book_income_total, gp_total)
    m2 = ScheduleM2(
        beginning=sum((s.beginning for s in book_capital.values()), ZERO),
        contributed_cash=sum((s.contributed_cash for s in book_capital.values()), ZERO),
        contributed_property=sum((s.contributed_property for s in book_capital.values()), ZERO),
        net_income_per_books=book_income_total,
        other_increases=ZERO,
        distributions_cash=sum((s.distributions_cash for s in book_capital.values()), ZERO),
        distributions_property=sum((s.distributions_property for s in book_capital.values()), ZERO),
        other_decreases=ZERO,
        ending=sum((s.ending for s in book_capital.values()), ZERO),
    )
    _check_reconciles(data, m1, m2, net_income)
    schedule_b = _schedule_b(data, capital_begin, capital_end)
    required = not schedule_b.q4
    return Form1065(
        data.tax_year,
        data.partnership,
        income,
        schedule_k,
        AnalysisOfNetIncome(net_income, _analysis_by_type(partners, per_partner)),
        data.balance_beginning,
        data.balance_ending,
        m1,
        m2,
        tuple(k1s),
        book_capital,
        required,
        f.credit_k1_code,
        schedule_b,
    )


def _schedule_b(
    data: Form1065Input, capital_begin: dict[str, Decimal], capital_end: dict[str, Decimal]
) -> ScheduleB:
    """Q2 looks at each partner's largest share of profit, loss or capital at any point we know of."""
    day = data.tax_year.start
    half = rule_on(SCHEDULE_B_OWNER_THRESHOLD, day).value

    def largest(p: PartnerYear) -> Decimal:
        pid = p.partner.partner_id
        shares = [p.tax_share, capital_begin[pid], capital_end[pid]]
        shares.extend(s for s in (p.tax_share_beginning, p.tax_share_ending) if s is not None)
        return max(shares)

    individual_kinds = (EntityType.INDIVIDUAL, EntityType.ESTATE)
    return ScheduleB(
        entity_kind=data.partnership.entity_kind,
        q2a_entity_owns_50_pct=any(
            largest(p) >= half for p in data.partners if p.partner.entity_type not in individual_kinds
        ),
        q2b_individual_owns_50_pct=any(
            largest(p) >= half for p in data.partners if p.partner.entity_type in individual_kinds
        ),
        q4a_receipts_under_limit=data.figures.gross_receipts
        < rule_on(SMALL_PARTNERSHIP_RECEIPTS_LIMIT, day).value,
        q4b_assets_under_limit=data.balance_ending.total_assets
        < rule_on(SMALL_PARTNERSHIP_ASSETS_LIMIT, day).value,
        q4c_k1s_on_time=data.k1s_furnished_on_time,
        q4d_no_schedule_m3=not data.files_schedule_m3,
    )


def _net_income(row: dict[str, Decimal]) -> Decimal:
    """Analysis of Net Income (Loss) line 1 for a Schedule K (or a partner's share of it)."""
    return sum((row[k] for k in NET_INCOME_PLUS), ZERO) - sum((row[k] for k in NET_INCOME_MINUS), ZERO)


def _self_employment(p: PartnerYear, row: dict[str, Decimal]) -> Decimal:
    """Box 14 code A: individuals only; a general partner's share of ordinary income plus its guaranteed
    payments, a limited partner's guaranteed payments for services (§1402(a)(13))."""
    if p.partner.entity_type is not EntityType.INDIVIDUAL:
        return ZERO
    if p.partner.general_partner:
        return row["1"] + row["4c"]
    return row["4a"]


def _share_liabilities(
    total: Liabilities, partners: tuple[PartnerYear, ...], *, beginning: bool
) -> dict[str, Liabilities]:
    """Item K: nonrecourse and qualified nonrecourse by profit share (the third tier of §1.752-3, which
    is what remains for an SPV without minimum gain or §704(c) built-in gain); recourse by the partner's
    recourse share when given, else its loss share."""

    def profit(p: PartnerYear) -> Decimal:
        chosen = p.tax_share_beginning if beginning else p.tax_share_ending
        return chosen if chosen is not None else p.tax_share

    profit_shares = {p.partner.partner_id: profit(p) for p in partners}
    recourse_shares = {
        p.partner.partner_id: p.recourse_share if p.recourse_share is not None else profit(p)
        for p in partners
    }
    nonrecourse = allocate(total.nonrecourse, profit_shares)
    qualified = allocate(total.qualified_nonrecourse, profit_shares)
    recourse = allocate(total.recourse, recourse_shares)
    return {pid: Liabilities(nonrecourse[pid], qualified[pid], recourse[pid]) for pid in profit_shares}


def _capital_shares(balances: dict[str, Decimal], fallback: dict[str, Decimal]) -> dict[str, Decimal]:
    """Item J capital %: each partner's share of total capital when every account is non-negative and
    the total positive; otherwise (deficits after bonus depreciation are common in flips) a ratio of
    accounts is meaningless and the profit share is reported instead."""
    total = sum(balances.values(), ZERO)
    if total <= 0 or any(v < 0 for v in balances.values()):
        return dict(fallback)
    return {pid: (v / total).quantize(Decimal("0.000001")) for pid, v in balances.items()}


def _analysis_by_type(
    partners: tuple[PartnerYear, ...], per_partner: dict[str, dict[str, Decimal]]
) -> dict[tuple[str, str], Decimal]:
    out = {(row, col): ZERO for row in ("general", "limited") for col in ANALYSIS_COLUMNS}
    for p in partners:
        kind = p.partner.entity_type
        if kind in (EntityType.CORPORATION, EntityType.S_CORPORATION):
            column = "corporate"
        elif kind is EntityType.INDIVIDUAL:
            column = "individual_passive" if p.partner.passive_individual else "individual_active"
        elif kind in (EntityType.PARTNERSHIP, EntityType.LLC):
            column = "partnership"
        elif kind is EntityType.EXEMPT_ORGANIZATION:
            column = "exempt_organization"
        else:
            column = "nominee_other"
        row = "general" if p.partner.general_partner else "limited"
        out[(row, column)] += _net_income(per_partner[p.partner.partner_id])
    return out


def _m1(data: Form1065Input, book_income: Decimal, gp_total: Decimal) -> ScheduleM1:
    f = data.figures
    book_excess = max(f.book_depreciation - f.tax_depreciation, ZERO)
    tax_excess = max(f.tax_depreciation - f.book_depreciation, ZERO)
    line5 = book_income + ZERO + gp_total + book_excess + f.nondeductible_expenses
    line8 = f.tax_exempt_interest + tax_excess
    return ScheduleM1(
        net_income_per_books=book_income,
        income_on_k_not_on_books=ZERO,
        guaranteed_payments=gp_total,
        expenses_on_books_not_on_k_depreciation=book_excess,
        expenses_on_books_not_on_k_travel_entertainment=ZERO,
        expenses_on_books_not_on_k_other=f.nondeductible_expenses,
        line5=line5,
        income_on_books_not_on_k_tax_exempt_interest=f.tax_exempt_interest,
        deductions_on_k_not_on_books_depreciation=tax_excess,
        line8=line8,
        income_per_return=line5 - line8,
    )


def _check_reconciles(data: Form1065Input, m1: ScheduleM1, m2: ScheduleM2, net_income: Decimal) -> None:
    """M-1 must land on Analysis line 1 (an internal invariant), and M-2 must agree with Schedule L's
    partners' capital at both ends (an input rule: the books and the capital accounts disagree)."""
    if m1.income_per_return != net_income:
        raise AssertionError(f"M-1 line 9 {m1.income_per_return} != Analysis of Net Income {net_income}")
    violations: list[RuleViolation] = []
    for label, sheet, m2_value in (
        ("balance_beginning.partners_capital", data.balance_beginning, m2.beginning),
        ("balance_ending.partners_capital", data.balance_ending, m2.ending),
    ):
        if sheet.partners_capital != m2_value:
            violations.append(
                errors.violation(
                    errors.BALANCE_SHEET, label, "capital_vs_m2", capital=sheet.partners_capital, m2=m2_value
                )
            )
    errors.raise_if(violations)
