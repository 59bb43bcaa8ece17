"""Voiding a wrong imported session: a fleet manager takes it out of every figure, on the record.

Only public (imported) sessions can be voided: OCPP and PV sessions come from meters and are corrected at
their source. The session row is deleted in the same transaction that writes the `VoidedSession` audit
record (who, when, why, and the row as it was), so lists, CSV exports and draft reimbursements stop
counting it at once; approved statements keep their frozen figures. Another fleet's session is NotFound.

A void can be undone (`restore_session`): the row comes back exactly as it was (same id, so links to it
work again) and the `VoidedSession` record goes; both steps are on the audit trail (`session.voided`,
`session.restored`, with the reason), so the record of what happened outlives the undo.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, select

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, NotFound, Principal, require
from pipelet_app.db.models import ChargingSession, Driver, Role, SessionSource, VoidedSession
from pipelet_app.errors import Conflict

MAX_REASON = 500


def _snapshot(session: ChargingSession) -> dict:
    row = session.model_dump()
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def void_session(db: Session, principal: Principal, transaction_id: str, reason: str) -> VoidedSession:
    require(principal, Role.FLEET_MANAGER)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason: say why the session is void (it is kept in the audit record)")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"reason: at most {MAX_REASON} characters")
    found = db.exec(
        select(ChargingSession, Driver)
        .join(Driver, Driver.id == ChargingSession.driver_id)
        .where(ChargingSession.transaction_id == transaction_id, Driver.fleet_id == principal.tenant_id)
    ).first()
    if found is None:
        raise NotFound(f"transaction_id: no session {transaction_id} in your fleet")
    session, driver = found
    if session.source != SessionSource.PUBLIC:
        raise InvalidInput(
            f"transaction_id: only imported public sessions can be voided (this one is {session.source})"
        )
    record = VoidedSession(
        transaction_id=session.transaction_id,
        fleet_id=principal.tenant_id or 0,
        driver_id=driver.id,
        voided_by=principal.user_id,
        reason=reason,
        session=_snapshot(session),
    )
    db.add(record)
    audit.record(
        db,
        principal,
        "session.voided",
        "charging_session",
        session.transaction_id,
        {"reason": [None, reason]},
    )
    db.delete(session)
    db.commit()
    db.refresh(record)
    return record


_DATETIMES = ("start_utc", "end_utc", "reviewed_at", "updated_at")


def restore_session(db: Session, principal: Principal, transaction_id: str) -> ChargingSession:
    """Undo a void of the caller's fleet: the session as it was before, in every figure again (drafts
    recompute it; approved statements keep their frozen figures, as for the void)."""
    require(principal, Role.FLEET_MANAGER)
    record = db.exec(
        select(VoidedSession).where(
            VoidedSession.transaction_id == transaction_id, VoidedSession.fleet_id == principal.tenant_id
        )
    ).first()
    if record is None:
        raise NotFound(f"transaction_id: no voided session {transaction_id} in your fleet")
    if db.exec(select(ChargingSession.id).where(ChargingSession.transaction_id == transaction_id)).first():
        raise Conflict(f"transaction_id: session {transaction_id} exists again (imported anew)")
    values = dict(record.session)
    for name in _DATETIMES:
        if isinstance(values.get(name), str):
            values[name] = datetime.fromisoformat(values[name])
    if values.get("cost") is not None:
        values["cost"] = Decimal(str(values["cost"]))
    session = ChargingSession(**values)
    audit.record(
        db,
        principal,
        "session.restored",
        "charging_session",
        transaction_id,
        {"reason": [record.reason, None]},
    )
    db.delete(record)
    db.flush()  # the voided record's unique transaction id goes before the session takes it back
    db.add(session)
    db.commit()
    return session


def voided_ids(db: Session, transaction_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in range(0, len(transaction_ids), 500):
        found.update(
            db.exec(
                select(VoidedSession.transaction_id).where(
                    VoidedSession.transaction_id.in_(transaction_ids[chunk : chunk + 500])  # type: ignore[attr-defined]
                )
            ).all()
        )
    return found
