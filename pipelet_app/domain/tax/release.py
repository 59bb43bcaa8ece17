"""Draft -> released -> filed: the life of a year's 1065/K-1 package, and the rule that blocks release.

Why in the domain: "nothing is released with a validation error open" is a tax rule, not a UI nicety.
Keeping the transition table and the check here means the web app, the API and the CLI cannot disagree
about it; the app only stores the returned `StatusChange` rows as the audit trail (who, what, when).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.errors import RuleViolation, TaxValidationError
from pipelet_app.domain.tax.form1065 import compute_return
from pipelet_app.domain.tax.inputs import Form1065Input

RELEASE_BLOCKED = "RELEASE-BLOCKED"
STATUS_TRANSITION = "STATUS-TRANSITION"


class ReturnStatus(StrEnum):
    DRAFT = "draft"
    RELEASED = "released"
    FILED = "filed"


# Released K-1s can be pulled back to draft (e.g. a correction before filing); filed is final: a change
# after filing is an amended return, a new package.
ALLOWED: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    ReturnStatus.DRAFT: frozenset({ReturnStatus.RELEASED}),
    ReturnStatus.RELEASED: frozenset({ReturnStatus.DRAFT, ReturnStatus.FILED}),
    ReturnStatus.FILED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One audit-trail entry. `at` must be timezone-aware (UTC in the app)."""

    from_status: ReturnStatus
    to_status: ReturnStatus
    actor: str
    at: datetime
    note: str = ""


def check_return(data: Form1065Input) -> list[RuleViolation]:
    """Every open violation of a year's return (empty when it computes cleanly)."""
    try:
        compute_return(data)
    except TaxValidationError as exc:
        return list(exc.violations)
    return []


def transition(
    current: ReturnStatus,
    target: ReturnStatus,
    *,
    actor: str,
    at: datetime,
    open_violations: Sequence[RuleViolation] = (),
    note: str = "",
) -> StatusChange:
    """Validate a status change and return its audit entry; refuses release or filing while any
    violation is open, and transitions the table does not allow."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    if not actor.strip():
        errors.raise_if([errors.violation(STATUS_TRANSITION, "actor", "status_actor")])
    if target not in ALLOWED[current]:
        errors.refuse(STATUS_TRANSITION, "status", f"cannot go from {current.value} to {target.value}")
    if target in (ReturnStatus.RELEASED, ReturnStatus.FILED) and open_violations:
        listed = errors.Violations(open_violations)
        errors.raise_if(
            [errors.violation(RELEASE_BLOCKED, "status", "release_blocked", count=len(listed), listed=listed)]
        )
    return StatusChange(current, target, actor, at, note)
