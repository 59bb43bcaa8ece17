"""Charger bookkeeping shared by both OCPP versions: registration, online state, boots, connector status.

Every function takes an open `Session` and leaves committing to the caller, so a handler can apply a
message's whole effect (and its message-log row) in one transaction before answering.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, text, update
from sqlmodel import Session, col, select

from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    Charger,
    ChargerConnectionPeriod,
    Connector,
    ConnectorStatusPeriod,
    OcppMessage,
    SecurityEvent,
)
from pipelet_app.ocpp.writer import defer_insert, flush_deferred


def find_charger(db: Session, charge_point_id: str) -> Charger | None:
    return db.exec(select(Charger).where(Charger.charge_point_id == charge_point_id)).first()


def register_charger(db: Session, charge_point_id: str) -> Charger:
    """Create an unclaimed charger (tenant_id NULL) for CSMS_AUTO_REGISTER; idempotent under races."""
    charger = find_charger(db, charge_point_id)
    if charger is None:
        charger = Charger(charge_point_id=charge_point_id)
        db.add(charger)
        db.flush()
    return charger


# Built once: connect and disconnect run these for every socket, reconnect storms thousands of times.
_PERIODS = ChargerConnectionPeriod.__table__
_OPEN_PERIODS = select(_PERIODS.c.id, _PERIODS.c.connected_at).where(  # type: ignore[attr-defined]
    _PERIODS.c.charger_id == bindparam("charger_id"),  # type: ignore[attr-defined]
    _PERIODS.c.disconnected_at.is_(None),  # type: ignore[attr-defined]
)
_CLOSE_PERIOD = (
    update(_PERIODS)  # type: ignore[arg-type]
    .where(_PERIODS.c.id == bindparam("b_id"))  # type: ignore[attr-defined]
    .values(
        disconnected_at=bindparam("b_end"),
        duration_s=bindparam("b_duration"),
        close_reason=bindparam("b_reason"),
    )
)


def _close_open_periods(db: Session, charger_id: int, at: datetime | None, reason: str) -> None:
    """Close the charger's open connection periods at `at`; None = at its last sign of life (a period
    a crashed node left open), read only when there is such a period."""
    flush_deferred(db)  # a period opened earlier in this transaction may still be queued
    periods = db.connection().execute(_OPEN_PERIODS, {"charger_id": charger_id}).all()
    if periods and at is None:
        at = db.connection().execute(_LAST_SEEN, {"b_id": charger_id}).scalar() or utcnow()
    closes = []
    for period_id, connected_at in periods:
        end = max(at, connected_at)
        closes.append(
            {
                "b_id": period_id,
                "b_end": end,
                "b_duration": (end - connected_at).total_seconds(),
                "b_reason": reason,
            }
        )
    if closes:
        db.connection().execute(_CLOSE_PERIOD, closes)


# Connect and Boot run once per socket, thousands of times in a reconnect storm: plain statements,
# one round trip each, no ORM object loaded just to set four columns.
_CHARGERS = Charger.__table__
_GO_ONLINE = (
    update(_CHARGERS)  # type: ignore[arg-type]
    .where(_CHARGERS.c.id == bindparam("b_id"))  # type: ignore[attr-defined]
    .values(
        is_online=True,
        last_seen_at=bindparam("b_now"),
        csms_node=bindparam("b_node"),
        ocpp_version=bindparam("b_version"),
    )
)
_LAST_SEEN = select(_CHARGERS.c.last_seen_at).where(_CHARGERS.c.id == bindparam("b_id"))  # type: ignore[attr-defined]


def mark_connected(db: Session, charger_id: int, node: str, ocpp_version: str) -> None:
    """Online from now on, held by `node`; a period left open by a crashed node is closed first."""
    now = utcnow()
    _close_open_periods(db, charger_id, None, "superseded")
    # Core statements: no ORM bookkeeping for rows nobody loads.
    result = db.connection().execute(
        _GO_ONLINE, {"b_id": charger_id, "b_now": now, "b_node": node, "b_version": ocpp_version}
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return
    defer_insert(
        db,
        ChargerConnectionPeriod.__table__,  # type: ignore[arg-type]
        {
            "charger_id": charger_id,
            "csms_node": node,
            "ocpp_version": ocpp_version,
            "connected_at": now,
            "disconnected_at": None,
            "duration_s": None,
            "close_reason": None,
        },
    )


_GO_OFFLINE = (
    update(_CHARGERS)  # type: ignore[arg-type]
    .where(_CHARGERS.c.id == bindparam("b_id"), _CHARGERS.c.csms_node == bindparam("b_node"))  # type: ignore[attr-defined]
    .values(is_online=False)
)


def mark_disconnected(db: Session, charger_id: int, node: str, reason: str) -> None:
    """Offline, unless another node (or a newer socket on this node) has taken the charger over."""
    if db.connection().execute(_GO_OFFLINE, {"b_id": charger_id, "b_node": node}).rowcount:  # type: ignore[attr-defined]
        _close_open_periods(db, charger_id, utcnow(), reason)


def mark_node_offline(db: Session, node: str, reason: str) -> int:
    """Every charger `node` claims goes offline: at shutdown, and at start-up after a crash."""
    chargers = db.exec(select(Charger).where(Charger.csms_node == node, Charger.is_online)).all()
    for charger in chargers:
        charger.is_online = False
        db.add(charger)
        assert charger.id is not None
        _close_open_periods(db, charger.id, utcnow(), reason)
    return len(chargers)


def sweep_stale(db: Session, stale_after_s: float, keep: set[str]) -> int:
    """Offline for chargers marked online whose last sign of life is older than `stale_after_s`.

    Every node refreshes `last_seen_at` of its sockets every few seconds, so only chargers of a node
    that died without restarting (or lost its database) go stale. `keep` = ids connected to this node.
    """
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    rows = db.exec(select(Charger).where(Charger.is_online, col(Charger.last_seen_at) < cutoff)).all()
    swept = 0
    for charger in rows:
        if charger.charge_point_id in keep:
            continue
        charger.is_online = False
        db.add(charger)
        assert charger.id is not None
        _close_open_periods(db, charger.id, charger.last_seen_at or utcnow(), "stale: no liveness")
        swept += 1
    return swept


def prune_message_log(db: Session, days: int) -> int:
    result = db.execute(
        delete(OcppMessage).where(col(OcppMessage.created_at) < utcnow() - timedelta(days=days))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def touch(db: Session, charger_id: int, at: datetime | None = None) -> None:
    charger = db.get(Charger, charger_id)
    if charger is not None:
        charger.last_seen_at = at or utcnow()
        charger.is_online = True
        db.add(charger)


_BOOTED = (
    update(_CHARGERS)  # type: ignore[arg-type]
    .where(_CHARGERS.c.id == bindparam("b_id"))  # type: ignore[attr-defined]
    .values(
        vendor=bindparam("b_vendor"),
        model=bindparam("b_model"),
        # A Boot without serial or firmware keeps what an earlier one reported.
        serial_number=func.coalesce(bindparam("b_serial"), _CHARGERS.c.serial_number),  # type: ignore[attr-defined]
        firmware_version=func.coalesce(bindparam("b_firmware"), _CHARGERS.c.firmware_version),  # type: ignore[attr-defined]
        ocpp_version=bindparam("b_version"),
        last_boot_at=bindparam("b_now"),
        last_seen_at=bindparam("b_now"),
        is_online=True,
    )
)


def record_boot(
    db: Session,
    charger_id: int,
    *,
    vendor: str,
    model: str,
    serial_number: str | None,
    firmware_version: str | None,
    ocpp_version: str,
) -> None:
    params = {
        "b_id": charger_id,
        "b_vendor": vendor,
        "b_model": model,
        "b_serial": serial_number,
        "b_firmware": firmware_version,
        "b_version": ocpp_version,
        "b_now": utcnow(),
    }
    if not db.connection().execute(_BOOTED, params).rowcount:  # type: ignore[attr-defined]
        raise LookupError(charger_id)
    if firmware_version:
        db.connection().execute(_NEW_FIRMWARE, params)


# A firmware version joins the charger's history when it differs from the last one recorded: one
# statement, no read on the Boot path (a downgrade to an earlier version is recorded again).
_NEW_FIRMWARE = text(
    "INSERT INTO charger_firmware_history (charger_id, version, seen_at) "
    "SELECT :b_id, CAST(:b_firmware AS VARCHAR), :b_now WHERE CAST(:b_firmware AS VARCHAR) <> COALESCE(("
    "SELECT version FROM charger_firmware_history WHERE charger_id = :b_id ORDER BY id DESC LIMIT 1), '')"
)


def record_status(
    db: Session,
    charger_id: int,
    connector_id: int,
    status: str,
    at: datetime,
    *,
    error_code: str = "NoError",
    info: str | None = None,
    vendor_error_code: str | None = None,
    evse_id: int | None = None,
) -> None:
    """Current status on `connectors` (connector 0 = the charger itself) plus one history period.

    A notification older than the open period (queued while offline, delivered late) is inserted as a
    closed period in its place in time instead of overwriting the newer current status.
    """
    # 2.0.1 statuses are per EVSE connector; the `connectors` row is per EVSE (what 1.6 calls a connector).
    key = connector_id if evse_id is None else evse_id
    open_period = db.exec(
        select(ConnectorStatusPeriod)
        .where(
            ConnectorStatusPeriod.charger_id == charger_id,
            ConnectorStatusPeriod.connector_id == connector_id,
            ConnectorStatusPeriod.evse_id == evse_id
            if evse_id is not None
            else ConnectorStatusPeriod.evse_id.is_(None),  # type: ignore[union-attr]
            ConnectorStatusPeriod.ended_at.is_(None),  # type: ignore[union-attr]
        )
        .order_by(ConnectorStatusPeriod.started_at.desc())  # type: ignore[attr-defined]
    ).first()
    period = ConnectorStatusPeriod(
        charger_id=charger_id,
        connector_id=connector_id,
        evse_id=evse_id,
        status=status,
        error_code=error_code or "NoError",
        info=info,
        vendor_error_code=vendor_error_code,
        started_at=at,
    )
    if open_period is not None and at < open_period.started_at:
        period.ended_at = open_period.started_at
        period.duration_s = (open_period.started_at - at).total_seconds()
        db.add(period)
        return
    if open_period is not None:
        if (open_period.status, open_period.error_code) == (status, period.error_code):
            return  # a repeated notification is not a new period
        open_period.ended_at = at
        open_period.duration_s = (at - open_period.started_at).total_seconds()
        db.add(open_period)
    db.add(period)

    connector = db.exec(
        select(Connector).where(Connector.charger_id == charger_id, Connector.connector_id == key)
    ).first()
    if connector is None:
        connector = Connector(charger_id=charger_id, connector_id=key)
    connector.status = status
    connector.error_code = period.error_code
    connector.updated_at = at
    db.add(connector)
    charger = db.get(Charger, charger_id)
    if charger is not None:
        if key == 0:
            charger.status = status
        else:
            db.flush()
            statuses = dict(
                db.exec(
                    select(Connector.connector_id, Connector.status).where(Connector.charger_id == charger_id)
                ).all()
            )
            if 0 not in statuses:  # the charger never reported itself: its connectors speak for it
                charger.status = summary_status(list(statuses.values()), status)
        db.add(charger)


def summary_status(connector_statuses: list[str], latest: str) -> str:
    """A charger's status from its connectors' when it reports none of its own (1.6 connector 0; 2.0.1
    has no station-wide status): Available when any connector is, the common status when they agree,
    else the latest one reported. Without it a charger reporting only connector 1 stayed Unknown."""
    if "Available" in connector_statuses:
        return "Available"
    if len(set(connector_statuses)) == 1:
        return connector_statuses[0]
    return latest


def set_basic_auth_password(db: Session, charger_id: int, password: str) -> None:
    """Store a new Basic-auth password (hashed; the clear text is never logged or stored)."""
    from pipelet_app.ocpp.identity import hash_password

    charger = db.get(Charger, charger_id)
    if charger is None:
        return
    charger.basic_auth_hash = hash_password(password)
    db.add(charger)
    record_security_event(
        db,
        charger.charge_point_id,
        "BasicAuthPasswordChanged",
        utcnow(),
        charger_id=charger_id,
        source="csms",
    )


def record_security_event(
    db: Session,
    charge_point_id: str,
    event_type: str,
    at: datetime,
    *,
    charger_id: int | None = None,
    tech_info: str | None = None,
    source: str = "charger",
) -> None:
    db.add(
        SecurityEvent(
            charge_point_id=charge_point_id,
            charger_id=charger_id,
            event_type=event_type,
            tech_info=tech_info,
            source=source,
            timestamp=at,
        )
    )
