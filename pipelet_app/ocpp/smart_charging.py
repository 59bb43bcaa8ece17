"""Version-neutral charging limits: one simple request becomes a 1.6 or 2.0.1 SetChargingProfile.

The PV-surplus loop and the API think in "connector 1 may draw 10 A (or 4.2 kW) from now on"; the
charger's OCPP version decides the shape. Profiles are Absolute with a single period starting now, on
stack level 0 by default (some chargers reject stackLevel > 0 when no lower profile exists), and their
id is derived from purpose and connector, so each new limit replaces the previous one instead of
piling up profiles on the charger.

    await send_command("CP-1", "set-charging-limit", {"connectorId": 1, "limit": 10, "unit": "A"})

Optional: `purpose` (TxDefaultProfile default, TxProfile needs `transactionId`, ChargePointMaxProfile /
ChargingStationMaxProfile for a site cap on connector 0), `stackLevel`, `numberPhases`, `layer`
("lift": a TxDefaultProfile under its own id, `lift_profile_id`, beside the connector's default), `duration`
(whole seconds the schedule lasts from now, 1.6 `ChargingSchedule.duration` / 2.0.1
`ChargingScheduleType.duration`; without it the last period continues indefinitely, or until the end
of the transaction for a TxProfile).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipelet_app.clock import utcnow
from pipelet_app.ocpp.errors import InvalidCommandPayload
from pipelet_app.ocpp.timefmt import format_utc

_PURPOSE_INDEX = {
    "ChargePointMaxProfile": 1,
    "ChargingStationMaxProfile": 1,
    "TxDefaultProfile": 2,
    "TxProfile": 3,
}
MAX_PURPOSE = {"1.6": "ChargePointMaxProfile", "2.0.1": "ChargingStationMaxProfile"}


def profile_id(purpose: str, connector_id: int) -> int:
    """Stable id per (purpose, connector): the same limit slot is overwritten, never duplicated."""
    return 1000 * _PURPOSE_INDEX[purpose] + connector_id


def lift_profile_id(connector_id: int) -> int:
    """The id of a connector's second TxDefaultProfile (`layer` "lift", stack level 1 over the surplus
    loop's baseline): its own id, so sending or clearing it leaves the baseline in place."""
    return 4000 + connector_id


def set_limit_request(version: str, request: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The SetChargingProfile payload for `request` in OCPP `version`."""
    try:
        connector_id = int(request.get("connectorId", request.get("evseId", 0)))
        limit = round(float(request["limit"]), 1)
        unit = str(request.get("unit", "A")).upper()
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidCommandPayload("set-charging-limit needs a numeric `limit` (and `unit` A or W)") from exc
    if unit not in ("A", "W") or limit < 0:
        raise InvalidCommandPayload("`unit` must be A or W and `limit` must not be negative")
    purpose = str(request.get("purpose", "TxDefaultProfile"))
    if purpose in ("ChargePointMaxProfile", "ChargingStationMaxProfile"):
        purpose = MAX_PURPOSE[version]
    if purpose not in _PURPOSE_INDEX:
        raise InvalidCommandPayload(f"unknown purpose {purpose!r}")
    if purpose == "TxProfile" and "transactionId" not in request:
        raise InvalidCommandPayload("a TxProfile needs the `transactionId` it applies to")
    lift = request.get("layer") == "lift"
    if lift and purpose != "TxDefaultProfile":
        raise InvalidCommandPayload("only a TxDefaultProfile has a `lift` layer")
    number = lift_profile_id(connector_id) if lift else profile_id(purpose, connector_id)
    duration: int | None = None
    if request.get("duration") is not None:
        try:
            duration = int(request["duration"])
        except (TypeError, ValueError) as exc:
            raise InvalidCommandPayload("`duration` must be whole seconds") from exc
        if duration <= 0:
            raise InvalidCommandPayload("`duration` must be positive")
    period: dict[str, Any] = {"startPeriod": 0, "limit": limit}
    if "numberPhases" in request:
        period["numberPhases"] = int(request["numberPhases"])
    start = format_utc(now or utcnow())
    stack_level = int(request.get("stackLevel", 0))
    if version == "1.6":
        profile: dict[str, Any] = {
            "chargingProfileId": number,
            "stackLevel": stack_level,
            "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "startSchedule": start,
                "chargingRateUnit": unit,
                "chargingSchedulePeriod": [period],
            },
        }
        if duration is not None:
            profile["chargingSchedule"]["duration"] = duration
        if purpose == "TxProfile":
            tx = str(request["transactionId"]).rsplit(":", 1)[-1]
            profile["transactionId"] = int(tx)
        return {"connectorId": connector_id, "csChargingProfiles": profile}
    profile = {
        "id": number,
        "stackLevel": stack_level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [
            {"id": 1, "startSchedule": start, "chargingRateUnit": unit, "chargingSchedulePeriod": [period]}
        ],
    }
    if duration is not None:
        profile["chargingSchedule"][0]["duration"] = duration
    if purpose == "TxProfile":
        tx = str(request["transactionId"])
        profile["transactionId"] = tx.split(":", 2)[2] if tx.startswith("ocpp201:") else tx
    return {"evseId": connector_id, "chargingProfile": profile}
