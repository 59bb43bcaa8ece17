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


#: the sentences an alert is made of, in English (mail, API); pages word the same codes through the
#: catalogue (`spv_alert.<code>`, same placeholders) in the reader's language
SENTENCES = {
    "late": "{days} day(s) late",
    "due_in": "due in {days} day(s)",
    "form_1065": "Form 1065 and K-1s for {year}",
    "deadline_30c": "§30C placed-in-service deadline for port {port}",
    "after_deadline": "planned {planned}, after the {deadline} deadline: no credit unless in service by then",
    "in_service_by": "must be in service by {deadline}",
}

Words = tuple[str, tuple[tuple[str, object], ...]]


def _words(code: str, **args: object) -> Words:
    return code, tuple(args.items())


def english(words: Words) -> str:
    code, args = words
    return SENTENCES[code].format(**dict(args))


@dataclass(frozen=True, slots=True)
class Alert:
    """Something to show and email: what, whose, by when, how urgent.

    `title` and `message` are English; `title_words` (None: the title is data, a step's own) and
    `message_words` are the same sentences as (code, arguments), so a page can say them in its language.
    """

    key: str
    severity: Severity
    title: str
    owner: str
    due: date
    message: str
    message_words: Words
    title_words: Words | None = None


def _alert(key: str, severity: Severity, title: str | Words, owner: str, due: date, words: Words) -> Alert:
    if isinstance(title, str):
        return Alert(key, severity, title, owner, due, english(words), words)
    return Alert(key, severity, english(title), owner, due, english(words), words, title)


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
            severity, words = Severity.OVERDUE, _words("late", days=-days)
        elif days <= warn_days:
            severity, words = Severity.WARNING, _words("due_in", days=days)
        else:
            continue
        out.append(_alert(step.step_id, severity, step.title, step.owner, step.due, words))
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
    title, key = _words("form_1065", year=tax_year.year), f"1065-{tax_year.year}"
    if days < 0:
        return [_alert(key, Severity.OVERDUE, title, owner, due, _words("late", days=-days))]
    if days <= warn_days:
        return [_alert(key, Severity.WARNING, title, owner, due, _words("due_in", days=days))]
    return []


def section_30c_alerts(
    planned_in_service: Sequence[tuple[str, date]], today: date, owner: str, warn_days: int = 60
) -> list[Alert]:
    """Ports planned for service after the §30C deadline lose the credit; warn while there is time."""
    deadline = SECTION_30C_LAST_PLACED_IN_SERVICE
    out = []
    for port_id, planned in planned_in_service:
        title = _words("deadline_30c", port=port_id)
        if planned > deadline:
            severity = Severity.OVERDUE if today > deadline else Severity.WARNING
            words = _words("after_deadline", planned=planned, deadline=deadline)
            out.append(_alert(f"30C-{port_id}", severity, title, owner, deadline, words))
        elif (deadline - today).days <= warn_days and today <= deadline:
            words = _words("in_service_by", deadline=deadline)
            out.append(_alert(f"30C-{port_id}", Severity.INFO, title, owner, deadline, words))
    return out
