"""Release workflow: nothing released or filed with a validation error open; the audit entries."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pipelet_app.domain.tax.books import investor_history
from pipelet_app.domain.tax.errors import TaxValidationError
from pipelet_app.domain.tax.flip import FlipTerms, PartnerTerms, Role, YearProjection, run_flip
from pipelet_app.domain.tax.release import ReturnStatus, check_return, transition
from pipelet_app.domain.tax.sample import sample_return
from tests.unit.domain.tax.flip_partners import SPONSOR

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_clean_return_can_be_released_and_filed() -> None:
    data = sample_return(3)
    assert check_return(data) == []
    released = transition(ReturnStatus.DRAFT, ReturnStatus.RELEASED, actor="ops@pipelet.example", at=NOW)
    assert (released.from_status, released.to_status, released.actor) == (
        "draft",
        "released",
        "ops@pipelet.example",
    )
    filed = transition(ReturnStatus.RELEASED, ReturnStatus.FILED, actor="ops@pipelet.example", at=NOW)
    assert filed.to_status is ReturnStatus.FILED


def test_release_is_blocked_while_a_violation_is_open() -> None:
    data = sample_return(3)
    no_tin = dataclasses.replace(data.partners[1].partner, tin="")
    broken = dataclasses.replace(
        data,
        partners=(data.partners[0], dataclasses.replace(data.partners[1], partner=no_tin), data.partners[2]),
    )
    violations = check_return(broken)
    assert [v.rule for v in violations] == ["K1-TIN"]
    with pytest.raises(TaxValidationError) as info:
        transition(ReturnStatus.DRAFT, ReturnStatus.RELEASED, actor="ops", at=NOW, open_violations=violations)
    assert info.value.violations[0].rule == "RELEASE-BLOCKED"
    assert "K1-TIN" in info.value.violations[0].message
    # Going back to draft is always possible.
    assert transition(
        ReturnStatus.RELEASED, ReturnStatus.DRAFT, actor="ops", at=NOW, open_violations=violations
    )


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (ReturnStatus.DRAFT, ReturnStatus.FILED),
        (ReturnStatus.FILED, ReturnStatus.DRAFT),
        (ReturnStatus.FILED, ReturnStatus.RELEASED),
    ],
)
def test_transitions_outside_the_table_are_refused(current: ReturnStatus, target: ReturnStatus) -> None:
    with pytest.raises(TaxValidationError) as info:
        transition(current, target, actor="ops", at=NOW)
    assert info.value.violations[0].rule == "STATUS-TRANSITION"


def test_audit_entry_needs_actor_and_aware_time() -> None:
    with pytest.raises(TaxValidationError):
        transition(ReturnStatus.DRAFT, ReturnStatus.RELEASED, actor=" ", at=NOW)
    with pytest.raises(ValueError):
        transition(ReturnStatus.DRAFT, ReturnStatus.RELEASED, actor="ops", at=datetime(2026, 3, 1))


def test_investor_history_cash_yield_and_irr() -> None:
    terms = FlipTerms(
        (
            PartnerTerms(
                "A",
                Role.INVESTOR,
                Decimal("0.495"),
                Decimal("0.025"),
                Decimal("0.45"),
                Decimal("0.025"),
                has_dro=True,
            ),
            PartnerTerms(
                "B",
                Role.INVESTOR,
                Decimal("0.495"),
                Decimal("0.025"),
                Decimal("0.45"),
                Decimal("0.025"),
                has_dro=True,
            ),
            SPONSOR,
        ),
        Decimal("0.10"),
        Decimal("0"),
    )
    years = [
        YearProjection(2025, contributions={"A": Decimal("500.00"), "B": Decimal("500.00")}),
        *(YearProjection(y, Decimal("300.00")) for y in range(2026, 2031)),
    ]
    flip = run_flip(terms, years)
    history = investor_history(flip, ["A", "B"], Decimal("0"))
    assert history[0].cash_yield == Decimal("0")
    assert history[1].distributed == Decimal("270.00")
    assert history[1].cash_yield == Decimal("0.270000")
    assert history[-1].cumulative_contributed == Decimal("1000.00")
    # With no tax, the class's IRR to date is the flip's cumulative IRR.
    assert [h.cumulative_after_tax_irr for h in history] == [y.investor_cumulative_irr for y in flip.years]


def test_investor_history_matches_the_flip_with_taxes() -> None:
    terms = FlipTerms(
        (
            PartnerTerms(
                "A",
                Role.INVESTOR,
                Decimal("0.33"),
                Decimal("0.02"),
                Decimal("0.3"),
                Decimal("0.02"),
                has_dro=True,
            ),
            PartnerTerms(
                "B",
                Role.INVESTOR,
                Decimal("0.66"),
                Decimal("0.03"),
                Decimal("0.6"),
                Decimal("0.03"),
                has_dro=True,
            ),
            SPONSOR,
        ),
        Decimal("0.07"),
        Decimal("0.2653"),
    )
    years = [
        YearProjection(2025, contributions={"A": Decimal("333.33"), "B": Decimal("666.67")}),
        YearProjection(2026, Decimal("150.00"), Decimal("-777.77"), credits=Decimal("12.34")),
        *(YearProjection(y, Decimal("210.00"), Decimal("123.45")) for y in range(2027, 2036)),
    ]
    flip = run_flip(terms, years)
    history = investor_history(flip, ["A", "B"], Decimal("0.2653"))
    assert [h.after_tax_cash_flow for h in history] == [y.investor_after_tax_cash_flow for y in flip.years]
    assert all(h.after_tax_cash_flow == h.after_tax_cash_flow.quantize(Decimal("0.01")) for h in history)
    assert flip.flip_year is not None
