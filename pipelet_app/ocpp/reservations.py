"""Reservations (1.6 Reservation profile, 2.0.1 H01-H04), stored rather than only passed through.

Life of a row in `reservations`, one per (charger, reservationId):
- ReserveNow through the command bus records it with the charger's answer: Accepted is stored as
  `Active`, a refusal as the charger said it (Faulted, Occupied, Rejected, Unavailable). A ReserveNow
  with an id the charger already holds replaces that reservation (1.6 §5.13), so the row is rewritten.
- CancelReservation answered Accepted → `Cancelled`.
- StartTransaction (1.6) / TransactionEvent (2.0.1) carrying the reservationId → `Used`, linked to the
  session.
- 2.0.1 ReservationStatusUpdate → `Expired` or `Removed`.
- Expiry is computed on read (`effective_status`): an `Active` row past `expires_at` reads as `Expired`.
  Nothing has to run at the expiry instant, and a charger that starts a transaction on the reservation
  a moment after our clock says it expired (clock skew) still gets it marked `Used`.

Only `Active` rows move on: a late cancel or status update never rewrites a reservation that was
already used. `next_status` is that rule, pure.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from pipelet_app.clock import utcnow
from pipelet_app.db.models import Reservation
from pipelet_app.ocpp.timefmt import parse_utc

LOGGER = logging.getLogger("pipelet.csms.reservations")


class ReservationStatus(StrEnum):
    ACTIVE = "Active"
    USED = "Used"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"
    REMOVED = "Removed"  # 2.0.1 ReservationStatusUpdate: the station dropped it for another reason
    # refusals, as the charger answered ReserveNow
    REJECTED = "Rejected"
    OCCUPIED = "Occupied"
    FAULTED = "Faulted"
    UNAVAILABLE = "Unavailable"


# What happens to an Active reservation on each event; any other status is final.
_EVENTS = {
    "cancelled": ReservationStatus.CANCELLED,
    "used": ReservationStatus.USED,
    "Expired": ReservationStatus.EXPIRED,  # 2.0.1 ReservationUpdateStatus values
    "Removed": ReservationStatus.REMOVED,
}


def answered_status(answer_status: str) -> str:
    """The stored status for the charger's ReserveNow answer."""
    return ReservationStatus.ACTIVE if answer_status == "Accepted" else answer_status


def next_status(current: str, event: str) -> str | None:
    """The status after `event` (cancelled | used | Expired | Removed), or None when it does not apply."""
    if current != ReservationStatus.ACTIVE:
        return None
    return _EVENTS.get(event)


def effective_status(status: str, expires_at: datetime, now: datetime) -> str:
    """The status as it should be read: an Active reservation past its expiry is Expired."""
    if status == ReservationStatus.ACTIVE and expires_at <= now:
        return ReservationStatus.EXPIRED
    return status


# ---------------------------------------------------------------------- database
def find(db: Session, charger_id: int, reservation_id: int) -> Reservation | None:
    return db.exec(
        select(Reservation).where(
            Reservation.charger_id == charger_id, Reservation.reservation_id == reservation_id
        )
    ).first()


def next_free_id(db: Session, charger_id: int) -> int:
    """One above the highest reservationId used at this charger (ids are per charger)."""
    highest = db.exec(
        select(func.max(Reservation.reservation_id)).where(Reservation.charger_id == charger_id)
    ).one()
    return int(highest or 0) + 1


def request_fields(ocpp_version: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The columns a ReserveNow request (either version's shape) fills."""
    if ocpp_version == "1.6":
        return {
            "reservation_id": int(payload["reservationId"]),
            "connector_id": int(payload.get("connectorId", 0) or 0),
            "id_tag": str(payload["idTag"]),
            "parent_id_tag": payload.get("parentIdTag"),
            "expires_at": parse_utc(str(payload["expiryDate"]), "expiryDate"),
        }
    return {
        "reservation_id": int(payload["id"]),
        "connector_id": int(payload.get("evseId", 0) or 0),
        "id_tag": str(payload["idToken"]["idToken"]),
        "parent_id_tag": (payload.get("groupIdToken") or {}).get("idToken"),
        "expires_at": parse_utc(str(payload["expiryDateTime"]), "expiryDateTime"),
    }


def record(
    db: Session, charger_id: int, ocpp_version: str, payload: dict[str, Any], answer_status: str
) -> None:
    """A ReserveNow the charger answered: new row, or the reservation with that id replaced."""
    fields = request_fields(ocpp_version, payload)
    row = find(db, charger_id, fields["reservation_id"])
    if row is None:
        row = Reservation(charger_id=charger_id, status=answered_status(answer_status), **fields)
    else:
        for name, value in fields.items():
            setattr(row, name, value)
        row.status = answered_status(answer_status)
        row.session_id = None
        row.updated_at = utcnow()
    db.add(row)
    db.flush()


def transition(
    db: Session, charger_id: int, reservation_id: int, event: str, session_id: int | None = None
) -> Reservation | None:
    """Apply `event` to the reservation; the row when it changed, None when unknown or already final."""
    row = find(db, charger_id, reservation_id)
    if row is None:
        LOGGER.info("charger %s: %s for unknown reservation %s", charger_id, event, reservation_id)
        return None
    status = next_status(row.status, event)
    if status is None:
        LOGGER.info(
            "charger %s: %s ignored for reservation %s (already %s)",
            charger_id,
            event,
            reservation_id,
            row.status,
        )
        return None
    row.status = status
    if session_id is not None:
        row.session_id = session_id
    row.updated_at = utcnow()
    db.add(row)
    return row


def list_for(
    db: Session, charger_id: int, now: datetime | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """The charger's reservations, newest first, with the status as it reads now (see module docstring).

    `limit` keeps the operator page and the API to the recent ones; a busy charger collects thousands.
    """
    now = now or utcnow()
    statement = (
        select(Reservation)
        .where(Reservation.charger_id == charger_id)
        .order_by(col(Reservation.created_at).desc(), col(Reservation.id).desc())
    )
    if limit is not None:
        statement = statement.limit(limit)
    rows = db.exec(statement).all()
    return [
        {
            "reservation_id": row.reservation_id,
            "connector_id": row.connector_id,
            "id_tag": row.id_tag,
            "expires_at": row.expires_at,
            "status": effective_status(row.status, row.expires_at, now),
            "session_id": row.session_id,
        }
        for row in rows
    ]
