"""CallError codes for payloads that fail the official schemas, per OCPP version."""

from __future__ import annotations

import pytest

from pipelet_app.ocpp.errors import CallRejected
from pipelet_app.ocpp.validation import schema_exists, validate


@pytest.mark.parametrize(
    ("version", "payload", "code"),
    [
        ("1.6", {"chargePointVendor": "v"}, "ProtocolError"),
        ("2.0.1", {"reason": "PowerUp"}, "OccurrenceConstraintViolation"),
        ("1.6", {"chargePointVendor": [], "chargePointModel": "m"}, "TypeConstraintViolation"),
        ("1.6", {"chargePointVendor": "v" * 21, "chargePointModel": "m"}, "PropertyConstraintViolation"),
        (
            "2.0.1",
            {"reason": "Bored", "chargingStation": {"model": "m", "vendorName": "v"}},
            "PropertyConstraintViolation",
        ),
        ("1.6", {"chargePointVendor": "v", "chargePointModel": "m", "x": 1}, "FormatViolation"),
    ],
)
def test_codes(version: str, payload: dict, code: str) -> None:
    with pytest.raises(CallRejected) as exc:
        validate(version, "BootNotification", payload)
    assert exc.value.code == code


def test_v16_decimal_fields_accept_one_decimal_floats() -> None:
    """1.6 schemas say multipleOf 0.1; binary floats like 21.4 must still pass (library trap)."""
    profile = {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}],
        },
    }
    validate("1.6", "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile})


def test_responses_and_unknown_actions() -> None:
    validate("2.0.1", "Heartbeat", {"currentTime": "2026-01-01T00:00:00Z"}, response=True)
    assert schema_exists("1.6", "Reset") and not schema_exists("1.6", "RequestStartTransaction")
    with pytest.raises(CallRejected) as exc:
        validate("1.6", "NoSuchThing", {})
    assert exc.value.code == "NotImplemented"


def test_every_shipped_schema_compiles_on_the_fast_path() -> None:
    from pathlib import Path

    import ocpp

    from pipelet_app.ocpp.validation import _fast_validator

    root = Path(ocpp.__file__).parent
    count = 0
    for version, folder in (("1.6", "v16"), ("2.0.1", "v201")):
        for path in (root / folder / "schemas").glob("*.json"):
            name = path.stem
            if name.endswith("Response"):
                _fast_validator(3, name.removesuffix("Response"), version)
            else:
                _fast_validator(2, name.removesuffix("Request") if version == "2.0.1" else name, version)
            count += 1
    assert count > 200


def test_zone_less_timestamps_pass_validation() -> None:
    """Chargers send them; parse_utc takes them as UTC, so the schema must not refuse them first."""
    validate(
        "1.6",
        "StatusNotification",
        {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": "2026-01-01T00:00:00"},
    )
