"""The operator's own chargers: detail, sessions, reservations, faults, and commands (monthly uptime:
`operations.health`).

Every function checks the operator role and the tenant itself; another tenant's charger is reported
exactly like a missing one.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from typing import Any

from sqlmodel import Session, col, func, select

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, NotFound, Principal, require, require_tenant
from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Connector,
    DisplayMessage,
    IdToken,
    IdTokenStatus,
    Role,
)
from pipelet_app.ocpp import customer_information as customer_information_store
from pipelet_app.ocpp import display_messages as display_message_store
from pipelet_app.ocpp import queries
from pipelet_app.ocpp import reservations as reservation_store
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.errors import CommandError
from pipelet_app.services.driver_sessions import session_power_w
from pipelet_app.settings import get_settings

RECENT = 20  # rows of reservations and sessions the detail page shows, and the API's default page


def own_charger(db: Session, principal: Principal, charge_point_id: str) -> Charger:
    require(principal, Role.OPERATOR)
    charger = db.exec(select(Charger).where(Charger.charge_point_id == charge_point_id)).first()
    if charger is None:
        raise NotFound("Not found.")  # the same words require_tenant uses for another tenant's charger
    require_tenant(principal, charger.tenant_id)
    return charger


MAX_POWER_RANGE_W = (500.0, 1_000_000.0)  # a slow AC socket to the largest DC chargers sold
MAX_CORRECTED_WH = (
    10_000_000  # 10 MWh, ten hours of the largest DC charger; 1e308 summed to inf in solar share
)


def set_connector_max_power(
    db: Session, principal: Principal, charge_point_id: str, connector_id: int, max_power_w: float
) -> Connector:
    """The most a connector can deliver, as the operator knows it from the charger's data sheet.

    1.6 has no standard way for a charger to say it (2.0.1 reports it in its device model), and without
    it the plausibility checks of docs/ocpp-energy-rules.md fall back to a DC charger's 350 kW, so an
    impossible session on an 11 kW wallbox goes unflagged. Audited, like every change to a charger.
    """
    charger = own_charger(db, principal, charge_point_id)
    low, high = MAX_POWER_RANGE_W
    if not (math.isfinite(max_power_w) and low <= max_power_w <= high):
        raise InvalidInput(f"max_power_w: must be between {low:,.0f} and {high:,.0f} W")
    if not 1 <= connector_id <= 100:
        raise InvalidInput("connector_id: must be between 1 and 100")
    connector = db.exec(
        select(Connector).where(Connector.charger_id == charger.id, Connector.connector_id == connector_id)
    ).first()
    if connector is None:
        assert charger.id is not None
        connector = Connector(charger_id=charger.id, connector_id=connector_id)
    before = connector.max_power_w
    connector.max_power_w = max_power_w
    db.add(connector)
    audit.record(
        db,
        principal,
        "charger.connector_max_power",
        "charger",
        charge_point_id,
        {"connector_id": connector_id, "max_power_w": [before, max_power_w]},
    )
    db.commit()
    db.refresh(connector)
    return connector


def charger_detail(db: Session, principal: Principal, charge_point_id: str) -> dict[str, Any]:
    own_charger(db, principal, charge_point_id)
    detail = queries.charger_detail(db, charge_point_id, principal.tenant_id)
    assert detail is not None  # own_charger just checked it
    return detail


def sessions(
    db: Session, principal: Principal, charge_point_id: str, limit: int = RECENT
) -> list[dict[str, Any]]:
    """The charger's latest sessions, each with `missing_messages` (2.0.1 TransactionEvents not received)."""
    charger = own_charger(db, principal, charge_point_id)
    return queries.charger_sessions(db, charger.id, limit)  # type: ignore[arg-type]


def review_session(
    db: Session,
    principal: Principal,
    charge_point_id: str,
    transaction_id: str,
    corrected_energy_wh: float | None = None,
) -> dict[str, Any]:
    """An operator's decision on a session: confirm the charger's figure, or correct its energy.

    Either way the session counts again in reimbursement and solar share (it was held while
    `review_pending`). A correction keeps what the readings gave in `energy_reported_wh`, and later
    messages of the transaction update only that (ocpp.transactions). Another tenant's session is
    reported like a missing one.
    """
    charger = own_charger(db, principal, charge_point_id)
    session = db.exec(
        select(ChargingSession).where(
            ChargingSession.charger_id == charger.id, ChargingSession.transaction_id == transaction_id
        )
    ).first()
    if session is None:
        raise NotFound("Not found.")
    if corrected_energy_wh is not None:
        if not math.isfinite(corrected_energy_wh) or not 0 <= corrected_energy_wh <= MAX_CORRECTED_WH:
            raise InvalidInput(f"energy_wh: a number of Wh from 0 to {MAX_CORRECTED_WH:,}")
        if session.energy_reported_wh is None:
            session.energy_reported_wh = session.energy_wh
        session.energy_wh = corrected_energy_wh
    session.review_pending = False
    session.reviewed_at = utcnow()
    session.reviewed_by = principal.user_id
    db.add(session)
    db.commit()
    row = queries.charger_session(db, charger.id, transaction_id)  # type: ignore[arg-type]
    assert row is not None  # just written
    return row


def customer_information(
    db: Session, principal: Principal, charge_point_id: str, limit: int = RECENT
) -> list[dict[str, Any]]:
    """What the charger reported about customers (NotifyCustomerInformation), one entry per request."""
    charger = own_charger(db, principal, charge_point_id)
    return customer_information_store.reports(db, charger.id, limit)  # type: ignore[arg-type]


def display_messages(db: Session, principal: Principal, charge_point_id: str) -> list[DisplayMessage]:
    """The messages on the charger's screen as the CSMS last knew them."""
    charger = own_charger(db, principal, charge_point_id)
    return display_message_store.listed(db, charger.id)  # type: ignore[arg-type]


def reservations(
    db: Session, principal: Principal, charge_point_id: str, limit: int = RECENT
) -> list[dict[str, Any]]:
    """The charger's latest reservations with the status as it reads now (an Active one past its expiry
    reads Expired), and the transaction id of the session that used it: operators know sessions by that
    id, not by our row id."""
    charger = own_charger(db, principal, charge_point_id)
    rows = reservation_store.list_for(db, charger.id, limit=limit)  # type: ignore[arg-type]
    session_ids = {r["session_id"] for r in rows if r["session_id"] is not None}
    transaction_of: dict[int, str] = {}
    if session_ids:
        found = db.exec(
            select(ChargingSession.id, ChargingSession.transaction_id).where(
                col(ChargingSession.id).in_(sorted(session_ids))
            )
        ).all()
        transaction_of = {session_id: transaction_id for session_id, transaction_id in found}
    return [{**r, "transaction_id": transaction_of.get(r["session_id"])} for r in rows]


def faults(db: Session, principal: Principal) -> list[dict[str, Any]]:
    require(principal, Role.OPERATOR)
    return queries.faults(db, principal.tenant_id)


TOKEN_CHOICES = 500  # the picker lists at most this many of the tenant's tokens


def id_tokens(db: Session, principal: Principal, charge_point_id: str) -> list[str]:
    """The tokens an operator may start a session with at this charger: its tenant's accepted ones."""
    charger = own_charger(db, principal, charge_point_id)
    return list(
        db.exec(
            select(IdToken.token)
            .where(IdToken.tenant_id == charger.tenant_id, IdToken.status == IdTokenStatus.ACCEPTED)
            .order_by(col(IdToken.token))
            .limit(TOKEN_CHOICES)
        ).all()
    )


def start_payload(
    db: Session, principal: Principal, charge_point_id: str, connector_id: str, id_tag: str
) -> dict[str, Any]:
    """`remote-start` for one of the charger's connectors with one of the tenant's tokens (the picker's
    choices, checked again here: the client can send anything)."""
    charger = own_charger(db, principal, charge_point_id)
    if not connector_id.strip().isdigit():
        raise InvalidInput("connector: choose one of the charger's connectors")
    number = int(connector_id)
    exists = db.exec(
        select(Connector.id).where(Connector.charger_id == charger.id, Connector.connector_id == number)
    ).first()
    if exists is None or number == 0:
        raise InvalidInput("connector: choose one of the charger's connectors")
    token = db.exec(
        select(IdToken.token).where(
            IdToken.tenant_id == charger.tenant_id,
            func.lower(IdToken.token) == id_tag.strip().lower(),
            IdToken.status == IdTokenStatus.ACCEPTED,
        )
    ).first()
    if token is None:
        raise InvalidInput("id_tag: choose one of your accepted tokens")
    return {"connectorId": number, "idTag": token}


def stop_payload(
    db: Session, principal: Principal, charge_point_id: str, transaction_id: str
) -> dict[str, Any]:
    """`remote-stop` for a session running at this charger (an ended or another charger's one: refused)."""
    charger = own_charger(db, principal, charge_point_id)
    running = db.exec(
        select(ChargingSession.id).where(
            ChargingSession.charger_id == charger.id,
            ChargingSession.transaction_id == transaction_id,
            col(ChargingSession.end_utc).is_(None),
        )
    ).first()
    if running is None:
        raise InvalidInput("transaction: this session is not running at this charger")
    return {"transactionId": transaction_id}


def running_power_w(db: Session, principal: Principal, charge_point_id: str) -> dict[str, float | None]:
    """Each running session's power now (domain.live_power), by transaction id."""
    charger = own_charger(db, principal, charge_point_id)
    running = db.exec(
        select(ChargingSession.id, ChargingSession.transaction_id).where(
            ChargingSession.charger_id == charger.id, col(ChargingSession.end_utc).is_(None)
        )
    ).all()
    return {transaction_id: session_power_w(db, session_id) for session_id, transaction_id in running}


_SECRETISH = re.compile(r"pass|secret|key|token|cert|auth", re.IGNORECASE)


def _auditable(payload: dict[str, Any] | None) -> dict[str, Any]:
    """The payload for the audit trail; only its field names when anything in it (a key or a value, at
    any depth) smells of a credential: a SetVariables of BasicAuthPassword, a ChangeConfiguration of
    AuthorizationKey."""
    payload = payload or {}
    if _SECRETISH.search(json.dumps(payload, default=str)):
        return {"fields": sorted(payload)}
    return payload


async def command(
    charge_point_id: str, name: str, payload: dict[str, Any] | None, *, by: Principal | None = None
) -> dict[str, Any]:
    """Send after `own_charger` has allowed it; raises the command bus's errors (offline, timeout...).

    Every send is audited (`charger.command`, with the outcome) as done by `by`; the row is written in a
    transaction of its own after the answer, so it records what the charger was actually asked and said.
    """
    outcome = "error"
    try:
        answer = await send_command(
            charge_point_id, name, payload or {}, timeout=get_settings().csms_command_timeout_s
        )
        outcome = "ok"
        return answer
    except CommandError as exc:
        outcome = type(exc).__name__
        raise
    finally:
        await asyncio.to_thread(
            audit.record_now,
            by,
            "charger.command",
            "charger",
            charge_point_id,
            {"command": [None, name], "payload": [None, _auditable(payload)], "outcome": [None, outcome]},
            tenant_id=by.tenant_id if by else None,
        )
