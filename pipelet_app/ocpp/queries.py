"""Read side of the CSMS for the operator pages and the API: plain dicts, no ORM objects leak out.

Tenant scoping is the caller's job (pass the principal's tenant id, or None for a platform admin);
every function here filters by it so a page cannot forget.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Connector,
    ConnectorStatusPeriod,
    DeviceVariable,
    OcppMessage,
    Site,
    TransactionSeqNos,
)
from pipelet_app.domain.meter_energy import parse_flags

# A fault is what the charger reports as one: Faulted, or any error code. Unavailable without an error is
# planned (a Reset's reboot, ChangeAvailability Inoperative: OCPP 1.6 §4.9 / 2.0.1 Unavailable) and counts
# as degraded in uptime, but is not listed among faults (operators read that list as "what broke").
FAULT_STATUS = "Faulted"


def _scoped(statement: Any, tenant_id: int | None) -> Any:
    return statement if tenant_id is None else statement.where(Charger.tenant_id == tenant_id)


def recent_messages(db: Session, charge_point_id: str, limit: int = 50) -> list[dict[str, Any]]:
    rows = db.exec(
        select(OcppMessage)
        .where(OcppMessage.charge_point_id == charge_point_id)
        .order_by(col(OcppMessage.id).desc())
        .limit(limit)
    ).all()
    return [
        {
            "at": m.created_at,
            "direction": m.direction,
            "action": m.action,
            "unique_id": m.unique_id,
            "payload": m.payload,
            "response": m.response,
            "error_code": m.error_code,
        }
        for m in rows
    ]


def charger_sessions(db: Session, charger_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The charger's latest sessions, newest first, each with how many 2.0.1 TransactionEvents are missing.

    `missing_messages` comes from `ocpp_transaction_seq_nos` (0 when complete, and for 1.6 or imported
    sessions, which have no seqNos): an operator should know a session's energy or end may still change
    when the charger delivers the messages it queued offline. `flags` say what was unusual about its
    readings (docs/ocpp-energy-rules.md); `review_pending` ones wait for the operator.
    """
    return _session_rows(
        db,
        select(ChargingSession, TransactionSeqNos.missing)
        .outerjoin(TransactionSeqNos, TransactionSeqNos.session_id == ChargingSession.id)  # type: ignore[arg-type]
        .where(ChargingSession.charger_id == charger_id)
        .order_by(col(ChargingSession.start_utc).desc(), col(ChargingSession.id).desc())
        .limit(limit),
    )


def charger_session(db: Session, charger_id: int, transaction_id: str) -> dict[str, Any] | None:
    """One session of the charger, in the shape of `charger_sessions`."""
    rows = _session_rows(
        db,
        select(ChargingSession, TransactionSeqNos.missing)
        .outerjoin(TransactionSeqNos, TransactionSeqNos.session_id == ChargingSession.id)  # type: ignore[arg-type]
        .where(ChargingSession.charger_id == charger_id, ChargingSession.transaction_id == transaction_id),
    )
    return rows[0] if rows else None


def _session_rows(db: Session, statement: Any) -> list[dict[str, Any]]:
    return [
        {
            "transaction_id": s.transaction_id,
            "id_tag": s.id_tag,
            "connector_id": s.connector_id,
            "start_utc": s.start_utc,
            "end_utc": s.end_utc,
            "energy_wh": s.energy_wh,
            "reason": s.reason,
            "missing_messages": missing or 0,
            "flags": sorted(parse_flags(s.flags)),
            "review_pending": s.review_pending,
            "energy_reported_wh": s.energy_reported_wh,
            "cost": s.cost,
            "currency": s.currency,
        }
        for s, missing in db.exec(statement).all()
    ]


def charger_detail(db: Session, charge_point_id: str, tenant_id: int | None) -> dict[str, Any] | None:
    """Everything the charger detail page shows; None when the charger is not the tenant's."""
    charger = db.exec(
        _scoped(select(Charger).where(Charger.charge_point_id == charge_point_id), tenant_id)
    ).first()
    if charger is None:
        return None
    connectors = db.exec(
        select(Connector).where(Connector.charger_id == charger.id).order_by(col(Connector.connector_id))
    ).all()
    variables = db.exec(
        select(DeviceVariable)
        .where(DeviceVariable.charger_id == charger.id)
        .order_by(col(DeviceVariable.component), col(DeviceVariable.variable))
    ).all()
    site = db.get(Site, charger.site_id) if charger.site_id is not None else None
    return {
        "charge_point_id": charger.charge_point_id,
        # Times on the charger's page are the site's local times: what the people on site see.
        "timezone": site.timezone if site is not None else "UTC",
        "vendor": charger.vendor,
        "model": charger.model,
        "serial_number": charger.serial_number,
        "firmware_version": charger.firmware_version,
        "ocpp_version": charger.ocpp_version,
        "is_online": charger.is_online,
        "last_seen_at": charger.last_seen_at,
        "last_boot_at": charger.last_boot_at,
        "status": charger.status,
        "auth_mode": str(charger.auth_mode),
        "has_password": charger.basic_auth_hash is not None,
        "connectors": [
            {
                "connector_id": c.connector_id,
                "status": c.status,
                "error_code": c.error_code,
                "since": c.updated_at,
            }
            for c in connectors
        ],
        "sessions": charger_sessions(db, charger.id),  # type: ignore[arg-type]
        "configuration": [
            {
                "component": v.component,
                "evse_id": v.evse_id,
                "variable": v.variable,
                "instance": v.variable_instance,
                "attribute": v.attribute_type,
                "value": v.value,
                "mutability": v.mutability,
            }
            for v in variables
        ],
        "messages": recent_messages(db, charger.charge_point_id),
    }


def faults(db: Session, tenant_id: int | None, since: datetime | None = None) -> list[dict[str, Any]]:
    """Fault periods (Faulted or an error code; see FAULT_STATUS), newest first; open ones last until now."""
    now = utcnow()
    statement = (
        select(ConnectorStatusPeriod, Charger.charge_point_id, Site.timezone)
        .join(Charger, Charger.id == ConnectorStatusPeriod.charger_id)  # type: ignore[arg-type]
        .outerjoin(Site, Site.id == Charger.site_id)  # type: ignore[arg-type]
        .where(
            (ConnectorStatusPeriod.status == FAULT_STATUS) | (ConnectorStatusPeriod.error_code != "NoError")
        )
        .order_by(col(ConnectorStatusPeriod.started_at).desc())
    )
    if since is not None:
        statement = statement.where(
            (col(ConnectorStatusPeriod.ended_at).is_(None)) | (col(ConnectorStatusPeriod.ended_at) >= since)
        )
    rows = db.exec(_scoped(statement, tenant_id)).all()
    return [
        {
            "charge_point_id": cp_id,
            "connector_id": p.connector_id if p.evse_id is None else p.evse_id,
            "status": p.status,
            "error_code": p.error_code,
            "info": p.info,
            "vendor_error_code": p.vendor_error_code,
            "started_at": p.started_at,
            "ended_at": p.ended_at,
            "duration_s": p.duration_s if p.ended_at else (now - p.started_at).total_seconds(),
            "open": p.ended_at is None,
            "timezone": tz or "UTC",
        }
        for p, cp_id, tz in rows
    ]
