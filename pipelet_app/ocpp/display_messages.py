"""Messages on a station's screen (OCPP 2.0.1 O01-O06), as the CSMS last knew them.

An accepted SetDisplayMessage stores its message (a message id set again replaces it, O06); an
accepted ClearDisplayMessage removes it; NotifyDisplayMessages (the station's answer to
GetDisplayMessages) stores what the station reports. A GetDisplayMessages without filters answered
`Unknown` means the station shows nothing: the stored list is emptied (TC_O_03). Read by
`GET /api/v1/chargers/{id}/display-messages`.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from pipelet_app.clock import utcnow
from pipelet_app.db.models import DisplayMessage
from pipelet_app.ocpp.timefmt import parse_utc


def with_request_id(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "requestId": payload.get("requestId", random.randint(1, 2**31 - 1))}


def store(db: Session, charger_id: int, info: dict[str, Any], source: str) -> None:
    """One MessageInfoType (camelCase, as on the wire) replaces the stored message with its id."""
    message = info.get("message") or {}
    display = info.get("display") or {}
    start, end = info.get("startDateTime"), info.get("endDateTime")
    remove(db, charger_id, int(info["id"]))
    db.add(
        DisplayMessage(
            charger_id=charger_id,
            message_id=int(info["id"]),
            priority=str(info.get("priority", "")),
            state=info.get("state"),
            message_format=str(message.get("format", "")),
            language=message.get("language"),
            content=str(message.get("content", "")),
            start_at=parse_utc(start, "startDateTime") if start else None,
            end_at=parse_utc(end, "endDateTime") if end else None,
            transaction_id=info.get("transactionId"),
            evse_id=(display.get("evse") or {}).get("id"),
            source=source,
            updated_at=utcnow(),
        )
    )


def remove(db: Session, charger_id: int, message_id: int | None = None) -> None:
    """Forget one message (or, with no id, all of the charger's)."""
    statement = delete(DisplayMessage).where(col(DisplayMessage.charger_id) == charger_id)
    if message_id is not None:
        statement = statement.where(col(DisplayMessage.message_id) == message_id)
    db.exec(statement)  # type: ignore[call-overload]
    db.flush()


def after_command(
    db: Session, charger_id: int, action: str, payload: dict[str, Any], answer: dict[str, Any]
) -> None:
    status = answer.get("status")
    if action == "SetDisplayMessage" and status == "Accepted":
        store(db, charger_id, payload["message"], "set")
    elif action == "ClearDisplayMessage" and status == "Accepted":
        remove(db, charger_id, int(payload["id"]))
    elif (
        action == "GetDisplayMessages"
        and status == "Unknown"
        and not (payload.get("id") or payload.get("priority") or payload.get("state"))
    ):
        remove(db, charger_id)


def listed(db: Session, charger_id: int) -> list[DisplayMessage]:
    return list(
        db.exec(
            select(DisplayMessage)
            .where(DisplayMessage.charger_id == charger_id)
            .order_by(col(DisplayMessage.message_id))
        ).all()
    )
