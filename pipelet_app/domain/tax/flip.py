"""The partnership flip: yearly shares decided by the investor's cumulative after-tax IRR.

Why this rule and not a fixed flip date: tax-equity deals (and NREL SAM's all-equity flip model) switch
the investor from its large pre-flip share to its small post-flip share only once its cumulative
after-tax IRR reaches the target. Each year's shares therefore depend on the IRR *through the prior
year*; the flip year is the first year whose cumulative IRR reaches the target, and the post-flip
shares apply from the following year on. Once flipped, the shares never flip back.

The investor's after-tax cash flow of a year is its cash share of distributions plus its tax share of
the tax benefit: minus taxable income times its tax rate, plus credits. IRR is a rate, not money, so it
is solved in Decimal by bisection and reported rounded to 1e-6; money stays in cents throughout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from enum import StrEnum

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.allocation import allocate, check_shares, normalize
from pipelet_app.domain.tax.capital import CapitalMovement, CapitalStatement, deficit_violations, roll_forward
from pipelet_app.domain.tax.errors import RuleViolation
from pipelet_app.domain.tax.macrs import to_cent
from pipelet_app.domain.tax.rules import (
    FLIP_SAFE_HARBOUR_EFFECTIVE_FROM,
    SAFE_HARBOUR_DEVELOPER_MIN_SHARE,
    SAFE_HARBOUR_INVESTOR_POST_FLIP_MIN_OF_LARGEST,
    rule_on,
)

ZERO = Decimal("0.00")
ONE = Decimal(1)


class Role(StrEnum):
    """Whose IRR decides the flip: the tax-equity investor; the sponsor (developer) keeps the rest."""

    INVESTOR = "investor"
    SPONSOR = "sponsor"


@dataclass(frozen=True, slots=True)
class PartnerTerms:
    """A partner's shares (fractions of 1) before and after the flip, for tax items and for cash.

    Many investor members can share the investor class: the flip test aggregates all INVESTOR partners.
    """

    partner_id: str
    role: Role
    pre_flip_tax: Decimal
    post_flip_tax: Decimal
    pre_flip_cash: Decimal
    post_flip_cash: Decimal
    has_dro: bool = False
    has_qio: bool = False


@dataclass(frozen=True, slots=True)
class FlipTerms:
    """The deal: partners' shares, the investor's target after-tax IRR and its tax rate (fractions)."""

    partners: tuple[PartnerTerms, ...]
    target_irr: Decimal
    investor_tax_rate: Decimal


def combined_tax_rate(federal: Decimal, state: Decimal) -> Decimal:
    """Federal and state rates combined as SAM does: state tax is deductible federally."""
    return state + federal * (ONE - state)


@dataclass(frozen=True, slots=True)
class YearProjection:
    """One year of the partnership's books as the flip needs them, in cents.

    `year` 0 is the investment year when the deal starts with contributions only; `contributions` are
    by partner id. `taxable_income` is after depreciation (negative = loss); `credits` are tax credits
    (e.g. §30C), allocated like tax items; `distributable_cash` is cash paid out to partners.
    `section_704b_income` feeds the §704(b) capital accounts (default: the taxable income).
    """

    tax_year: int
    distributable_cash: Decimal = ZERO
    taxable_income: Decimal = ZERO
    section_704b_income: Decimal | None = None
    credits: Decimal = ZERO
    contributions: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FlipYear:
    """Shares in force, allocations and the investor's position for one year."""

    tax_year: int
    post_flip: bool
    tax_shares: dict[str, Decimal]
    cash_shares: dict[str, Decimal]
    income: dict[str, Decimal]
    credits: dict[str, Decimal]
    distributions: dict[str, Decimal]
    investor_after_tax_cash_flow: Decimal
    investor_cumulative_irr: Decimal | None
    capital: dict[str, CapitalStatement]
    loss_reallocation: dict[str, Decimal] = field(default_factory=dict)
    """Regulatory loss reallocation of the year: + loss taken off a partner, - loss it received."""


@dataclass(frozen=True, slots=True)
class FlipResult:
    """The whole projection: the flip year (tax year, None if never reached) and IRRs."""

    years: tuple[FlipYear, ...]
    flip_year: int | None
    irr_at_flip: Decimal | None
    investor_irr: Decimal | None
    warnings: tuple[RuleViolation, ...]

    def year(self, tax_year: int) -> FlipYear:
        for y in self.years:
            if y.tax_year == tax_year:
                return y
        raise KeyError(tax_year)


def npv(rate: Decimal, flows: Sequence[Decimal]) -> Decimal:
    """Net present value at `rate` of yearly flows, the first at time 0."""
    total = Decimal(0)
    factor = ONE + rate
    discount = ONE
    for flow in flows:
        total += flow / discount
        discount *= factor
    return total


def irr(flows: Sequence[Decimal]) -> Decimal | None:
    """Internal rate of return by bisection on (-99 %, 1000 %); None when NPV never changes sign.

    Tax-equity flows are conventional (an investment, then returns), so NPV falls as the rate rises and
    the root is unique; bisection is slower than Newton but cannot diverge.
    """
    if not flows or all(f >= 0 for f in flows) or all(f <= 0 for f in flows):
        return None
    with localcontext() as ctx:
        ctx.prec = 40
        low, high = Decimal("-0.99"), Decimal("10")
        f_low, f_high = npv(low, flows), npv(high, flows)
        if f_low == 0:
            return low
        if (f_low > 0) == (f_high > 0):
            return None
        for _ in range(200):
            mid = (low + high) / 2
            f_mid = npv(mid, flows)
            if f_mid == 0 or high - low < Decimal("1e-12"):
                break
            if (f_mid > 0) == (f_low > 0):
                low, f_low = mid, f_mid
            else:
                high = mid
        return ((low + high) / 2).quantize(Decimal("0.000001"))


def validate_terms(terms: FlipTerms) -> list[RuleViolation]:
    """Allocations of each category must sum to 100 % (blocking)."""
    out: list[RuleViolation] = []
    for name in ("pre_flip_tax", "post_flip_tax", "pre_flip_cash", "post_flip_cash"):
        out.extend(check_shares({p.partner_id: getattr(p, name) for p in terms.partners}, name))
    if not any(p.role is Role.INVESTOR for p in terms.partners):
        out.append(errors.violation(errors.ALLOC_100, "partners", "no_investor"))
    return out


def safe_harbour_warnings(
    terms: FlipTerms, on: date = FLIP_SAFE_HARBOUR_EFFECTIVE_FROM
) -> list[RuleViolation]:
    """Rev. Proc. 2007-65 checks (not blocking: outside the safe harbour is a risk, not an error).

    The developer keeps at least 1 % of every item; the investor's post-flip share is at least 5 % of
    its largest share. The 20 % minimum-investment test needs the deal's funding schedule and is left
    to the deal review.
    """
    developer_min = rule_on(SAFE_HARBOUR_DEVELOPER_MIN_SHARE, on).value
    investor_min = rule_on(SAFE_HARBOUR_INVESTOR_POST_FLIP_MIN_OF_LARGEST, on).value
    out: list[RuleViolation] = []
    for name in ("pre_flip_tax", "post_flip_tax", "pre_flip_cash", "post_flip_cash"):
        sponsor = sum((getattr(p, name) for p in terms.partners if p.role is Role.SPONSOR), Decimal(0))
        if sponsor < developer_min:
            out.append(errors.violation(errors.SAFE_HARBOUR, name, "developer_share", share=sponsor * 100))
    for kind in ("tax", "cash"):
        pre = sum(
            (getattr(p, f"pre_flip_{kind}") for p in terms.partners if p.role is Role.INVESTOR), Decimal(0)
        )
        post = sum(
            (getattr(p, f"post_flip_{kind}") for p in terms.partners if p.role is Role.INVESTOR), Decimal(0)
        )
        if post < investor_min * max(pre, post):
            out.append(
                errors.violation(
                    errors.SAFE_HARBOUR, f"post_flip_{kind}", "investor_post_flip", share=post * 100
                )
            )
    return out


def _limit_losses(
    terms: FlipTerms,
    balances: Mapping[str, Decimal],
    contributed: Mapping[str, Decimal],
    distributions: Mapping[str, Decimal],
    book_income: Mapping[str, Decimal],
    tax_shares: Mapping[str, Decimal],
) -> dict[str, Decimal]:
    """Regulatory loss limitation (Treas. Reg. §1.704-1(b)(2)(ii)(d)): a partner without a deficit
    restoration obligation may not be allocated a loss that creates or deepens a §704(b) deficit.

    The excess is moved to the partners with a DRO, pro rata to their tax shares, as flip agreements
    provide; tax items follow (§1.704-1(b)(4)(i)), so the investor also loses that loss's tax benefit.
    With no DRO partner nothing is moved and the deficit is reported (704B-DEFICIT). A deficit caused by
    distributions would need a qualified income offset's income allocation, which is not modelled.
    """
    shift = dict.fromkeys(book_income, ZERO)
    receivers = [p.partner_id for p in terms.partners if p.has_dro]
    if not receivers:
        return shift
    excess = ZERO
    for p in terms.partners:
        pid = p.partner_id
        if p.has_dro or book_income[pid] >= 0:
            continue
        after = balances[pid] + contributed[pid] - distributions[pid] + book_income[pid]
        if after < 0:
            moved = min(-book_income[pid], -after)
            shift[pid] += moved
            excess += moved
    if excess:
        weights = normalize({pid: tax_shares[pid] for pid in receivers})
        for pid, part in allocate(-excess, weights).items():
            shift[pid] += part
    return shift


def run_flip(
    terms: FlipTerms,
    years: Sequence[YearProjection],
    opening_capital: Mapping[str, Decimal] | None = None,
) -> FlipResult:
    """Project the deal year by year: shares, allocations, §704(b) capital accounts and the flip.

    Losses that would put a partner without a DRO into §704(b) deficit are moved to the DRO partners
    (`_limit_losses`). Refuses (ALLOC-100, 704B-DEFICIT) when the terms do not allocate 100 %, or a
    partner without a DRO still ends a year in deficit (no DRO partner to take the loss, or a deficit
    from distributions).
    """
    errors.raise_if(validate_terms(terms))
    investors = [p.partner_id for p in terms.partners if p.role is Role.INVESTOR]
    balances = {p.partner_id: (opening_capital or {}).get(p.partner_id, ZERO) for p in terms.partners}
    flows: list[Decimal] = []
    out: list[FlipYear] = []
    flipped_after: int | None = None
    irr_at_flip: Decimal | None = None
    violations: list[RuleViolation] = []
    for projection in years:
        post = flipped_after is not None
        tax_shares = {p.partner_id: p.post_flip_tax if post else p.pre_flip_tax for p in terms.partners}
        cash_shares = {p.partner_id: p.post_flip_cash if post else p.pre_flip_cash for p in terms.partners}
        income = allocate(projection.taxable_income, tax_shares)
        book = projection.section_704b_income
        book_income = allocate(projection.taxable_income if book is None else book, tax_shares)
        credits = allocate(projection.credits, tax_shares)
        distributions = allocate(projection.distributable_cash, cash_shares)
        contributed = {pid: projection.contributions.get(pid, ZERO) for pid in tax_shares}
        shift = _limit_losses(terms, balances, contributed, distributions, book_income, tax_shares)
        income = {pid: income[pid] + shift[pid] for pid in income}
        book_income = {pid: book_income[pid] + shift[pid] for pid in book_income}
        unknown = set(projection.contributions) - set(tax_shares)
        if unknown:
            violations.append(
                errors.violation(
                    errors.PARTNER_UNKNOWN, "contributions", "unknown_partners", partners=sorted(unknown)
                )
            )
        # The investor's tax effect is money: rounded to the cent like any payment.
        flow = sum(
            (
                distributions[pid]
                - contributed[pid]
                - to_cent(income[pid] * terms.investor_tax_rate)
                + credits[pid]
                for pid in investors
            ),
            Decimal(0),
        )
        flows.append(flow)
        cumulative = irr(flows)
        capital = {}
        for pid in tax_shares:
            statement = roll_forward(
                pid,
                projection.tax_year,
                balances[pid],
                CapitalMovement(
                    contributed_cash=contributed[pid],
                    net_income=book_income[pid],
                    distributions_cash=distributions[pid],
                ),
            )
            capital[pid] = statement
            balances[pid] = statement.ending
        violations.extend(
            deficit_violations(
                list(capital.values()),
                {p.partner_id: p.has_dro for p in terms.partners},
                {p.partner_id: p.has_qio for p in terms.partners},
            )
        )
        out.append(
            FlipYear(
                projection.tax_year,
                post,
                tax_shares,
                cash_shares,
                income,
                credits,
                distributions,
                flow,
                cumulative,
                capital,
                {pid: v for pid, v in shift.items() if v},
            )
        )
        if flipped_after is None and cumulative is not None and cumulative >= terms.target_irr:
            flipped_after = projection.tax_year
            irr_at_flip = cumulative
    errors.raise_if(violations)
    first_day = date(years[0].tax_year, 1, 1) if years else FLIP_SAFE_HARBOUR_EFFECTIVE_FROM
    warnings = tuple(safe_harbour_warnings(terms, max(first_day, FLIP_SAFE_HARBOUR_EFFECTIVE_FROM)))
    return FlipResult(tuple(out), flipped_after, irr_at_flip, irr(flows), warnings)
