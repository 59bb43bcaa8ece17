"""Form 1065 and K-1s: K-1 lines sum to Schedule K (property test), item L rolls forward, M-1 lands on
the Analysis of Net Income, and bad input is refused naming the rule."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelet_app.domain.tax.errors import TaxValidationError
from pipelet_app.domain.tax.form1065 import compute_return
from pipelet_app.domain.tax.inputs import (
    BalanceSheet,
    EntityType,
    Form1065Input,
    Liabilities,
    PartnerInfo,
    PartnershipInfo,
    PartnerYear,
    YearFigures,
)
from pipelet_app.domain.tax.k1 import LINES
from pipelet_app.domain.tax.macrs import PlacedBasis, TaxYear
from pipelet_app.domain.tax.sample import sample_return

ZERO = Decimal("0.00")


def money(low: int = -(10**10), high: int = 10**10) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=low, max_value=high).map(lambda c: Decimal(c) / 100)


@st.composite
def returns(draw: st.DrawFn) -> Form1065Input:
    n = draw(st.integers(min_value=2, max_value=15))
    weights = draw(st.lists(st.integers(min_value=0, max_value=10**6), min_size=n, max_size=n).filter(any))
    total = sum(weights)
    shares = [(Decimal(w) / total).quantize(Decimal("0.000001")) for w in weights]
    shares[weights.index(max(weights))] += Decimal(1) - sum(shares)
    partners = []
    for i, share in enumerate(shares):
        kind = draw(st.sampled_from(list(EntityType)))
        info = PartnerInfo(
            partner_id=f"P{i}",
            tin=f"{i:09d}",
            name=f"Partner {i}",
            address=("1 Main St", "Town, ST 00000"),
            general_partner=draw(st.booleans()),
            entity_type=kind,
            passive_individual=draw(st.booleans()),
        )
        partners.append(
            PartnerYear(
                partner=info,
                tax_share=share,
                tax_capital_beginning=draw(money()),
                book_capital_beginning=ZERO,
                cash_distributions=draw(money(0, 10**9)),
                property_distributions=draw(money(0, 10**7)),
                contributed_cash=draw(money(0, 10**9)),
                guaranteed_payments_services=draw(money(0, 10**7)),
                guaranteed_payments_capital=draw(money(0, 10**7)),
            )
        )
    figures = YearFigures(
        gross_receipts=draw(money(0)),
        operating_expenses=draw(money(0)),
        tax_depreciation=draw(money(0)),
        book_depreciation=draw(money(0)),
        interest_income=draw(money(0, 10**8)),
        ordinary_dividends=draw(money(0, 10**8)),
        tax_exempt_interest=draw(money(0, 10**8)),
        nondeductible_expenses=draw(money(0, 10**8)),
        other_deductions=draw(money(0, 10**8)),
        credits=draw(money(0, 10**8)),
        credit_k1_code="STMT",
    )
    data = Form1065Input(
        partnership=PartnershipInfo("12-3456789", "Test SPV LLC", ("1 Grid Ave",), "Ogden, UT"),
        tax_year=TaxYear.calendar(2025),
        figures=figures,
        partners=tuple(partners),
        liabilities_beginning=Liabilities(draw(money(0)), draw(money(0)), draw(money(0))),
        liabilities_ending=Liabilities(draw(money(0)), draw(money(0)), draw(money(0))),
    )
    # Make Schedule L agree with M-2: capital = cash, no liabilities.
    result = compute_return_unchecked(data)
    return dataclasses.replace(
        data,
        balance_ending=BalanceSheet(cash=result, partners_capital=result),
    )


def compute_return_unchecked(data: Form1065Input) -> Decimal:
    """Ending book capital of the partnership, computed independently of the code under test."""
    f = data.figures
    gp = sum(p.guaranteed_payments_services + p.guaranteed_payments_capital for p in data.partners)
    book_income = (
        f.gross_receipts
        - f.operating_expenses
        - f.book_depreciation
        - gp
        + f.interest_income
        + f.ordinary_dividends
        + f.tax_exempt_interest
        - f.nondeductible_expenses
        - f.other_deductions
    )
    contributed = sum(p.contributed_cash + p.contributed_property for p in data.partners)
    distributed = sum(p.cash_distributions + p.property_distributions for p in data.partners)
    return (
        sum((p.book_capital_beginning for p in data.partners), ZERO) + contributed + book_income - distributed
    )


@settings(max_examples=40, deadline=None)
@given(returns())
def test_k1_lines_sum_to_schedule_k(data: Form1065Input) -> None:
    form = compute_return(data)
    for line in LINES:
        assert sum((k1.box_amount(line.k_line) for k1 in form.k1s), ZERO) == form.schedule_k[line.k_line], (
            line
        )
    f = data.figures
    gp = sum(p.guaranteed_payments_services + p.guaranteed_payments_capital for p in data.partners)
    assert form.schedule_k["1"] == f.gross_receipts - f.operating_expenses - f.tax_depreciation - gp
    assert form.schedule_k["15f"] == f.credits
    assert form.m1.income_per_return == form.analysis.net_income
    assert sum(form.analysis.by_type.values()) == form.analysis.net_income
    for part in ("nonrecourse", "qualified_nonrecourse", "recourse"):
        assert sum(getattr(k1.item_k.ending, part) for k1 in form.k1s) == getattr(
            data.liabilities_ending, part
        )
    for k1, p in zip(form.k1s, data.partners, strict=True):
        item_l = k1.item_l
        assert item_l.beginning == p.tax_capital_beginning
        assert item_l.ending == (
            item_l.beginning
            + item_l.contributed
            + item_l.net_income
            + item_l.other_net
            - item_l.distributions
        )
        assert item_l.distributions == k1.box_amount("19a") + k1.box_amount("19b")
        assert all(v == v.quantize(Decimal("0.01")) for v in k1.amounts.values())
    assert form.m2.ending == form.schedule_l_ending.partners_capital


def test_sample_return_figures() -> None:
    form = compute_return(sample_return(3))
    # 20 chargers x 150,000 = 3,000,000; 40 ports x 60,000: 20 at 30 % (18,000), 20 at 6 % (3,600).
    assert form.schedule_k["15f"] == Decimal("432000.00")
    # Acquired after 19 Jan 2025: 100 % bonus on the basis after the credit.
    assert form.income.depreciation == Decimal("2568000.00")
    assert form.schedule_k["1"] == Decimal("1250000.00") - Decimal("410000.00") - Decimal("2568000.00")
    sponsor = form.k1_for("SPONSOR")
    assert sponsor.box_amount("1") == Decimal("-17280.00")
    assert sponsor.item_l.ending == Decimal("1000000.00") - Decimal("17267.50") - Decimal("126000.00")
    assert form.m1.deductions_on_k_not_on_books_depreciation == Decimal("2568000.00") - Decimal("150000.00")
    assert form.schedules_l_m_required


def partner(pid: str, share: str, tin: str = "123456789") -> PartnerYear:
    info = PartnerInfo(pid, tin, f"Partner {pid}", ("addr",), general_partner=False)
    return PartnerYear(info, Decimal(share), ZERO, ZERO)


def base_input(*partners: PartnerYear, **figures: object) -> Form1065Input:
    values: dict[str, object] = {
        "gross_receipts": Decimal("100.00"),
        "operating_expenses": ZERO,
        "tax_depreciation": ZERO,
        "book_depreciation": ZERO,
    }
    values.update(figures)
    return Form1065Input(
        PartnershipInfo("12-3456789", "SPV", ("a",), "Ogden, UT"),
        TaxYear.calendar(2025),
        YearFigures(**values),  # type: ignore[arg-type]
        tuple(partners),
        balance_ending=BalanceSheet(cash=Decimal("100.00"), partners_capital=Decimal("100.00")),
    )


def broken(data: Form1065Input) -> list[tuple[str, str]]:
    with pytest.raises(TaxValidationError) as info:
        compute_return(data)
    return [(v.rule, v.field) for v in info.value.violations]


def test_allocations_not_summing_to_100_are_refused() -> None:
    assert broken(base_input(partner("A", "0.60"), partner("B", "0.39"))) == [("ALLOC-100", "tax_share")]


def test_partner_without_tin_is_refused() -> None:
    assert broken(base_input(partner("A", "0.5"), partner("B", "0.5", tin=""))) == [
        ("K1-TIN", "partner B.tin")
    ]


def test_placed_in_service_outside_the_year_is_refused() -> None:
    data = base_input(
        partner("A", "0.5"),
        partner("B", "0.5"),
        placed_in_service=(PlacedBasis("CH1", date(2024, 12, 31), Decimal(1)),),
    )
    assert broken(data) == [("PIS-IN-YEAR", "asset CH1.placed_in_service")]


def test_credit_without_k1_code_and_unbalanced_books_are_refused() -> None:
    data = base_input(partner("A", "0.5"), partner("B", "0.5"), credits=Decimal("5.00"))
    data = dataclasses.replace(data, balance_ending=BalanceSheet(cash=Decimal("1.00")))
    assert broken(data) == [("30C-K1-CODE", "figures.credit_k1_code"), ("SCH-L-BALANCE", "balance_ending")]


def test_schedule_l_must_agree_with_m2() -> None:
    data = base_input(partner("A", "0.5"), partner("B", "0.5"))
    data = dataclasses.replace(
        data, balance_ending=BalanceSheet(cash=Decimal("99.00"), partners_capital=Decimal("99.00"))
    )
    assert broken(data) == [("SCH-L-BALANCE", "balance_ending.partners_capital")]


def test_small_partnership_needs_no_schedules_l_m() -> None:
    form = compute_return(base_input(partner("A", "0.5"), partner("B", "0.5")))
    assert not form.schedules_l_m_required
    assert form.k1_for("A").box_amount("1") == Decimal("50.00")


def test_schedule_b_answers() -> None:
    small = compute_return(base_input(partner("A", "0.5"), partner("B", "0.5")))
    assert small.schedule_b.q4 and not small.schedules_l_m_required
    assert small.schedule_b.q2a_entity_owns_50_pct  # corporations at exactly 50 %
    late = compute_return(
        dataclasses.replace(base_input(partner("A", "0.5"), partner("B", "0.5")), k1s_furnished_on_time=False)
    )
    assert not late.schedule_b.q4 and late.schedules_l_m_required
    spread = compute_return(sample_return(4))
    assert not spread.schedule_b.q2a_entity_owns_50_pct  # 3 investors at 33 %, sponsor 1 %
    assert not spread.schedule_b.q4a_receipts_under_limit


def test_recourse_shares_all_or_none_and_amounts_not_negative() -> None:
    a = dataclasses.replace(partner("A", "0.5"), recourse_share=Decimal("1"))
    assert broken(base_input(a, partner("B", "0.5"))) == [("ALLOC-100", "recourse_share")]
    b = dataclasses.replace(partner("B", "0.5"), recourse_share=Decimal("0.5"))
    assert broken(base_input(a, b)) == [("ALLOC-100", "recourse_share")]
    negative = dataclasses.replace(partner("B", "0.5"), cash_distributions=Decimal("-1.00"))
    assert broken(base_input(partner("A", "0.5"), negative)) == [
        ("NEGATIVE-AMOUNT", "partner B.cash_distributions")
    ]


def test_item_l_tax_basis_includes_tax_exempt_income_and_nondeductible_expenses() -> None:
    data = base_input(
        dataclasses.replace(partner("A", "0.5"), guaranteed_payments_services=Decimal("20.00")),
        partner("B", "0.5"),
        tax_exempt_interest=Decimal("10.00"),
        nondeductible_expenses=Decimal("4.00"),
    )
    # Book income: 100 - 20 guaranteed payment + 10 - 4 = 86.
    data = dataclasses.replace(
        data, balance_ending=BalanceSheet(cash=Decimal("86.00"), partners_capital=Decimal("86.00"))
    )
    form = compute_return(data)
    a = form.k1_for("A")
    assert a.box_amount("1") == Decimal("40.00")  # (100 - 20) / 2
    assert a.box_amount("4a") == Decimal("20.00")
    assert a.item_l.net_income == Decimal("40.00") + Decimal("5.00") - Decimal("2.00")
    assert a.item_l.other_net == Decimal("0.00")
    assert form.m1.income_per_return == Decimal("100.00")  # K lines 1 + 4c


def test_years_before_the_form_layout_held_are_refused() -> None:
    data = dataclasses.replace(
        base_input(partner("A", "0.5"), partner("B", "0.5")), tax_year=TaxYear.calendar(2023)
    )
    assert broken(data) == [("TAX-YEAR", "tax_year")]


def test_later_sample_years_compute() -> None:
    for year in (2026, 2027):
        form = compute_return(sample_return(2, year))
        assert form.tax_year.year == year
    # Placed in service from February: only ports in service by 30 June 2026 carry a §30C credit.
    assert compute_return(sample_return(2, 2026)).schedule_k["15f"] == Decimal("216000.00")
    assert compute_return(sample_return(2, 2027)).schedule_k["15f"] == ZERO
