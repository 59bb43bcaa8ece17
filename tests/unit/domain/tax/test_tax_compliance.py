"""Lifecycle phases, step alerts, filing deadlines and §30C deadline alerts."""

from __future__ import annotations

from datetime import date

import pytest

from pipelet_app.domain.tax.compliance import (
    Phase,
    Severity,
    Step,
    filing_alerts,
    form_1065_due_dates,
    next_phase,
    section_30c_alerts,
    step_alerts,
)
from pipelet_app.domain.tax.errors import TaxValidationError
from pipelet_app.domain.tax.macrs import TaxYear

STEPS = [
    Step("s1", Phase.STRUCTURING, "Sign LLC agreement", "legal", date(2025, 3, 1), done_on=date(2025, 2, 20)),
    Step("s2", Phase.STRUCTURING, "Investor KYC", "ops", date(2025, 3, 10)),
    Step("s3", Phase.STRUCTURING, "Tax opinion", "tax", date(2025, 3, 25)),
    Step("s4", Phase.STRUCTURING, "Model audit", "tax", date(2025, 6, 1)),
]


def test_step_alerts() -> None:
    alerts = step_alerts(STEPS, today=date(2025, 3, 15))
    assert [(a.key, a.severity, a.message) for a in alerts] == [
        ("s2", Severity.OVERDUE, "5 day(s) late"),
        ("s3", Severity.WARNING, "due in 10 day(s)"),
    ]


def test_phases_advance_in_order_once_steps_are_done() -> None:
    with pytest.raises(TaxValidationError) as info:
        next_phase(Phase.STRUCTURING, Phase.CONSTRUCTION, STEPS)
    assert "Investor KYC" in info.value.violations[0].message
    done = [Step(s.step_id, s.phase, s.title, s.owner, s.due, date(2025, 6, 1)) for s in STEPS]
    assert next_phase(Phase.STRUCTURING, Phase.CONSTRUCTION, done) is Phase.CONSTRUCTION
    with pytest.raises(TaxValidationError):
        next_phase(Phase.STRUCTURING, Phase.OPERATIONS, done)


def test_1065_due_dates_move_off_weekends() -> None:
    # 15 March 2026 is a Sunday: due Monday the 16th; extended due 15 September 2026 (a Tuesday).
    assert form_1065_due_dates(TaxYear.calendar(2025)) == (date(2026, 3, 16), date(2026, 9, 15))
    assert form_1065_due_dates(TaxYear(date(2025, 7, 1), date(2026, 6, 30))) == (
        date(2026, 9, 15),
        date(2027, 3, 15),
    )


def test_filing_alerts() -> None:
    year = TaxYear.calendar(2025)
    assert filing_alerts(year, date(2026, 1, 1), extended=False, filed=False, owner="tax") == []
    (warning,) = filing_alerts(year, date(2026, 3, 1), extended=False, filed=False, owner="tax")
    assert warning.severity is Severity.WARNING and warning.due == date(2026, 3, 16)
    (late,) = filing_alerts(year, date(2026, 3, 17), extended=False, filed=False, owner="tax")
    assert late.severity is Severity.OVERDUE
    assert filing_alerts(year, date(2026, 3, 17), extended=True, filed=False, owner="tax") == []
    assert filing_alerts(year, date(2026, 3, 17), extended=False, filed=True, owner="tax") == []


def test_section_30c_alerts() -> None:
    plan = [("P1", date(2026, 5, 1)), ("P2", date(2026, 7, 15))]
    alerts = section_30c_alerts(plan, today=date(2026, 5, 15), owner="ops")
    assert [(a.key, a.severity) for a in alerts] == [("30C-P1", Severity.INFO), ("30C-P2", Severity.WARNING)]
    assert section_30c_alerts(plan, today=date(2025, 1, 1), owner="ops")[0].key == "30C-P2"


def test_dates_outside_the_rules_are_named_refusals() -> None:
    with pytest.raises(TaxValidationError) as info:
        form_1065_due_dates(TaxYear.calendar(2010))
    assert info.value.violations[0].rule == "RULE-NOT-IN-FORCE"
    assert info.value.violations[0].field == "form_1065_due_months"
