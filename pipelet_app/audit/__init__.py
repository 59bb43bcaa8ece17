"""The one audit trail: `record(db, actor, action, object_type, object_id, changes)` and `history(...)`.

Any area records here (onboarding of sites, chargers, id tokens, fleets; sign-ins and keys), so an
object's page can show every action on it in one list. It imports nothing of auth (auth may record
sign-ins here): the actor is anything with `user_id`, `email` and `tenant_id` (a `Principal` is one),
or None for the system itself.

`record` adds the row to the caller's transaction and does not commit: the action and its audit row are
saved together or not at all. `record_now` writes in a transaction of its own, for events that change
nothing else (a failed sign-in, a lock-out, a command sent to a charger); `Named("cli")` is an actor
that is not a user. `changes` is `{field: [before, after]}`; `diff(before, after)` builds it
from two snapshots and leaves out what did not change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

from sqlmodel import Session, col, select

from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import AuditEvent

log = logging.getLogger("pipelet.audit")

#: values that must never reach the trail, whatever a caller passes (a password is recorded as changed)
SECRET_FIELDS = frozenset({"password", "basic_auth_hash", "secret", "api_key", "token_hash"})
REDACTED = "(changed)"


class Actor(Protocol):
    @property
    def user_id(self) -> int | None: ...
    @property
    def email(self) -> str: ...
    @property
    def tenant_id(self) -> int | None: ...


@dataclass(frozen=True)
class Named:
    """An actor that is no signed-in user: "anonymous from 203.0.113.7", "cli", "charger:CP-1"."""

    email: str
    user_id: int | None = None
    tenant_id: int | None = None


def _plain(value: Any) -> Any:
    """A JSON-safe form of a field value (dates as ISO 8601, enums by value, Decimals as strings)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """`{field: [before, after]}` for each field whose value differs (a missing field reads None)."""
    out: dict[str, list[Any]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = _plain(before.get(name)), _plain(after.get(name))
        if old != new:
            out[name] = [old, new]
    return out


def record(
    db: Session,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: str | int,
    changes: Mapping[str, Any] | None = None,
    *,
    tenant_id: int | None = None,
) -> AuditEvent:
    """Add one audit row to the current transaction (the caller commits). `tenant_id` defaults to the
    actor's: the tenant whose operators may read the row."""
    clean = None
    if changes:
        clean = {k: ([REDACTED, REDACTED] if k in SECRET_FIELDS else _plain(v)) for k, v in changes.items()}
    event = AuditEvent(
        at=utcnow(),
        tenant_id=tenant_id if tenant_id is not None else (actor.tenant_id if actor else None),
        actor_user_id=actor.user_id if actor else None,
        actor=actor.email if actor else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        changes=clean,
    )
    db.add(event)
    return event


def record_now(
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: str | int,
    changes: Mapping[str, Any] | None = None,
    *,
    tenant_id: int | None = None,
) -> bool:
    """Record in a transaction of its own, for events with no change to ride on (a failed sign-in, a
    lock-out, a command sent to a charger). Never raises: losing the row must not fail the action it
    describes, so a failure is logged with its traceback and answered False."""
    try:
        with session_scope() as db:
            record(db, actor, action, object_type, object_id, changes, tenant_id=tenant_id)
    except Exception:
        log.exception("audit row %s on %s %s could not be written", action, object_type, object_id)
        return False
    return True


def history(
    db: Session, tenant_id: int | None, object_type: str, object_id: str | int, limit: int = 100
) -> list[dict[str, Any]]:
    """The object's trail as the tenant may read it, newest first."""
    rows = db.exec(
        select(AuditEvent)
        .where(
            AuditEvent.tenant_id == tenant_id,
            AuditEvent.object_type == object_type,
            AuditEvent.object_id == str(object_id),
        )
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(limit)
    ).all()
    return [
        {
            "at": r.at,
            "actor": r.actor,
            "action": r.action,
            "changes": r.changes or {},
        }
        for r in rows
    ]


def describe(changes: Mapping[str, Any]) -> str:
    """One line for a page: `name: "Old" → "New"; timezone: UTC → Europe/Berlin`."""
    parts = []
    for name, pair in changes.items():
        if isinstance(pair, list | tuple) and len(pair) == 2:
            parts.append(f"{name}: {_show(pair[0])} → {_show(pair[1])}")
        else:
            parts.append(f"{name}: {_show(pair)}")
    return "; ".join(parts)


def _show(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


__all__ = ["Actor", "Named", "describe", "diff", "history", "record", "record_now"]
