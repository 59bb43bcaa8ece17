"""What we know about a charger's configuration: 1.6 configuration keys, the 2.0.1 device model and
the charging profiles sent (the local authorization list lives in `local_list`)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from pipelet_app.clock import utcnow
from pipelet_app.db.models import ChargingProfileRecord, Connector, DeviceVariable

V16_COMPONENT = "OCPP16"


def upsert_variable(
    db: Session,
    charger_id: int,
    *,
    component: str,
    variable: str,
    value: str | None,
    component_instance: str = "",
    evse_id: int = 0,
    connector_id: int = 0,
    variable_instance: str = "",
    attribute_type: str = "Actual",
    mutability: str | None = None,
    data_type: str | None = None,
) -> None:
    row = db.exec(
        select(DeviceVariable).where(
            DeviceVariable.charger_id == charger_id,
            DeviceVariable.component == component,
            DeviceVariable.component_instance == component_instance,
            DeviceVariable.evse_id == evse_id,
            DeviceVariable.connector_id == connector_id,
            DeviceVariable.variable == variable,
            DeviceVariable.variable_instance == variable_instance,
            DeviceVariable.attribute_type == attribute_type,
        )
    ).first()
    if row is None:
        row = DeviceVariable(
            charger_id=charger_id,
            component=component,
            component_instance=component_instance,
            evse_id=evse_id,
            connector_id=connector_id,
            variable=variable,
            variable_instance=variable_instance,
            attribute_type=attribute_type,
        )
    row.value = value
    if mutability is not None:
        row.mutability = mutability
    if data_type is not None:
        row.data_type = data_type
    row.updated_at = utcnow()
    db.add(row)
    db.flush()


def upsert_reported(
    db: Session,
    charger_id: int,
    component: dict[str, Any],
    variable: dict[str, Any],
    value: str | None,
    attribute_type: str = "Actual",
    *,
    mutability: str | None = None,
    data_type: str | None = None,
) -> None:
    """One 2.0.1 ComponentVariable in its wire shape (camelCase: `evse.connectorId`) -> `upsert_variable`.

    The one reading of that shape for NotifyReport, NotifyEvent and Get/SetVariables answers alike;
    handlers that receive the library's snake_case kwargs convert with `snake_to_camel_case` first.
    """
    evse = component.get("evse") or {}
    upsert_variable(
        db,
        charger_id,
        component=component.get("name", ""),
        component_instance=component.get("instance", "") or "",
        evse_id=int(evse.get("id", 0) or 0),
        connector_id=int(evse.get("connectorId", 0) or 0),
        variable=variable.get("name", ""),
        variable_instance=variable.get("instance", "") or "",
        attribute_type=attribute_type,
        value=value,
        mutability=mutability,
        data_type=data_type,
    )


def store_configuration(
    db: Session, charger_id: int, keys: list[dict[str, Any]], component: str = V16_COMPONENT
) -> None:
    """1.6 `configurationKey` entries ({key, readonly, value}) as device variables."""
    for entry in keys:
        upsert_variable(
            db,
            charger_id,
            component=component,
            variable=str(entry.get("key", ""))[:128],
            value=None if entry.get("value") is None else str(entry["value"]),
            mutability="ReadOnly" if entry.get("readonly") else "ReadWrite",
        )


def store_report(db: Session, charger_id: int, report_data: list[dict[str, Any]]) -> None:
    """2.0.1 NotifyReport `reportData` (camelCase) into the device model."""
    for item in report_data:
        component = item.get("component", {})
        variable = item.get("variable", {})
        evse = component.get("evse") or {}
        characteristics = item.get("variableCharacteristics") or {}
        for attribute in item.get("variableAttribute", []):
            upsert_reported(
                db,
                charger_id,
                component,
                variable,
                attribute.get("value"),
                attribute.get("type", "Actual"),
                mutability=attribute.get("mutability"),
                data_type=characteristics.get("dataType"),
            )
        if component.get("name") == "EVSE" and variable.get("name") == "Power" and evse.get("id"):
            _store_max_power(db, charger_id, int(evse["id"]), characteristics.get("maxLimit"))


def _store_max_power(db: Session, charger_id: int, evse_id: int, max_limit: Any) -> None:
    """2.0.1 `EVSE.Power` maxLimit is the most the EVSE can deliver (W): the plausibility checks of its
    sessions use it (docs/ocpp-energy-rules.md) instead of the 350 kW default."""
    try:
        watts = float(max_limit)
    except (TypeError, ValueError):
        return
    if not 0 < watts < 10_000_000:  # nothing real delivers 10 MW; such a report is not believed
        return
    connector = db.exec(
        select(Connector).where(Connector.charger_id == charger_id, Connector.connector_id == evse_id)
    ).first() or Connector(charger_id=charger_id, connector_id=evse_id)
    connector.max_power_w = watts
    db.add(connector)


def store_profile(db: Session, charger_id: int, evse_id: int, profile: dict[str, Any], status: str) -> None:
    db.add(
        ChargingProfileRecord(
            charger_id=charger_id,
            evse_id=int(evse_id or 0),
            profile_id=int(profile.get("chargingProfileId", profile.get("id", 0))),
            stack_level=int(profile.get("stackLevel", 0)),
            purpose=str(profile.get("chargingProfilePurpose", "")),
            profile=json.dumps(profile, default=str),
            status=status,
        )
    )


def mark_profiles_cleared(db: Session, charger_id: int, criteria: dict[str, Any]) -> int:
    """Rows matching a ClearChargingProfile request (1.6 or 2.0.1 shape) get `cleared_at`."""
    rows = db.exec(
        select(ChargingProfileRecord).where(
            ChargingProfileRecord.charger_id == charger_id,
            ChargingProfileRecord.cleared_at.is_(None),  # type: ignore[union-attr]
        )
    ).all()
    profile_id = criteria.get("id", criteria.get("chargingProfileId"))
    nested = criteria.get("chargingProfileCriteria") or {}
    purpose = criteria.get("chargingProfilePurpose", nested.get("chargingProfilePurpose"))
    stack = criteria.get("stackLevel", nested.get("stackLevel"))
    evse = criteria.get("connectorId", nested.get("evseId"))
    count = 0
    for row in rows:
        if profile_id is not None and row.profile_id != profile_id:
            continue
        if purpose is not None and row.purpose != purpose:
            continue
        if stack is not None and row.stack_level != stack:
            continue
        if evse is not None and row.evse_id != evse:
            continue
        row.cleared_at = utcnow()
        db.add(row)
        count += 1
    return count
