"""SPV lifecycle phases, their steps and the compliance alerts the operator console shows and emails.

Why pure functions: alerts are computed from dates, so "what is due or late today" is deterministic and
testable; the app stores the steps and sends the alerts, the rules live here. Statutory dates (the 1065
due date, the §30C placed-in-service deadline) come from `rules`, so a change of law moves every alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum, StrEnum

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.macrs import TaxYear
from pipelet_app.domain.tax.rules import (
    FORM_1065_DUE_DAY,
    FORM_1065_DUE_MONTHS_AFTER_YEAR_END,
    FORM_1065_EXTENSION_MONTHS,
    SECTION_30C_LAST_PLACED_IN_SERVICE,
    rule_on,
)

LIFECYCLE = "LIFECYCLE"


class Phase(IntEnum):
    """Sourcing -> Structuring -> Construction -> Operations -> Exit, in order."""

    SOURCING = 1
    STRUCTURING = 2
    CONSTRUCTION = 3
    OPERATIONS = 4
    EXIT = 5


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Step:
    """A lifecycle step with an owner and a due date; `done_on` is None while open."""

    step_id: str
    phase: Phase
    title: str
    owner: str
    due: date
    done_on: date | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """Something to show and email: what, whose, by when, how urgent."""

    key: str
    severity: Severity
    title: str
    owner: str
    due: date
    message: str


def next_phase(current: Phase, target: Phase, steps: Sequence[Step]) -> Phase:
    """Phases advance one at a time, and only once every step of the current phase is done."""
    if target != current + 1:
        errors.refuse(LIFECYCLE, "phase", f"cannot move from {current.name} to {target.name}")
    open_steps = [s.title for s in steps if s.phase == current and s.done_on is None]
    if open_steps:
        errors.refuse(LIFECYCLE, "phase", f"{current.name} still has open steps: {', '.join(open_steps)}")
    return target


def _add_months(day: date, months: int, day_of_month: int) -> date:
    month0 = day.month - 1 + months
    return date(day.year + month0 // 12, month0 % 12 + 1, day_of_month)


def _next_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def form_1065_due_dates(tax_year: TaxYear) -> tuple[date, date]:
    """(original due date, extended due date) of the return and K-1s, weekend-adjusted."""
    months = rule_on(FORM_1065_DUE_MONTHS_AFTER_YEAR_END, tax_year.start).value
    day = rule_on(FORM_1065_DUE_DAY, tax_year.start).value
    extension = rule_on(FORM_1065_EXTENSION_MONTHS, tax_year.start).value
    original = _add_months(tax_year.end, months, day)
    extended = _add_months(original, extension, day)
    return _next_weekday(original), _next_weekday(extended)


def step_alerts(steps: Sequence[Step], today: date, warn_days: int = 14) -> list[Alert]:
    """Open steps late (OVERDUE) or due within `warn_days` (WARNING); overdue first, then by due date."""
    out = []
    for step in steps:
        if step.done_on is not None:
            continue
        days = (step.due - today).days
        if days < 0:
            out.append(
                Alert(
                    step.step_id, Severity.OVERDUE, step.title, step.owner, step.due, f"{-days} day(s) late"
                )
            )
        elif days <= warn_days:
            out.append(
                Alert(
                    step.step_id, Severity.WARNING, step.title, step.owner, step.due, f"due in {days} day(s)"
                )
            )
    return sorted(out, key=lambda a: (a.severity != Severity.OVERDUE, a.due, a.key))


def filing_alerts(
    tax_year: TaxYear, today: date, *, extended: bool, filed: bool, owner: str, warn_days: int = 30
) -> list[Alert]:
    """Form 1065 / K-1 deadline alert for one SPV and year."""
    if filed:
        return []
    original, extended_due = form_1065_due_dates(tax_year)
    due = extended_due if extended else original
    days = (due - today).days
    title = f"Form 1065 and K-1s for {tax_year.year}"
    if days < 0:
        return [Alert(f"1065-{tax_year.year}", Severity.OVERDUE, title, owner, due, f"{-days} day(s) late")]
    if days <= warn_days:
        return [Alert(f"1065-{tax_year.year}", Severity.WARNING, title, owner, due, f"due in {days} day(s)")]
    return []


def section_30c_alerts(
    planned_in_service: Sequence[tuple[str, date]], today: date, owner: str, warn_days: int = 60
) -> list[Alert]:
    """Ports planned for service after the §30C deadline lose the credit; warn while there is time."""
    deadline = SECTION_30C_LAST_PLACED_IN_SERVICE
    out = []
    for port_id, planned in planned_in_service:
        title = f"§30C placed-in-service deadline for port {port_id}"
        if planned > deadline:
            out.append(
                Alert(
                    f"30C-{port_id}",
                    Severity.OVERDUE if today > deadline else Severity.WARNING,
                    title,
                    owner,
                    deadline,
                    f"planned {planned}, after the {deadline} deadline: no credit unless in service by then",
                )
            )
        elif (deadline - today).days <= warn_days and today <= deadline:
            out.append(
                Alert(
                    f"30C-{port_id}",
                    Severity.INFO,
                    title,
                    owner,
                    deadline,
                    f"must be in service by {deadline}",
                )
            )
    return out
