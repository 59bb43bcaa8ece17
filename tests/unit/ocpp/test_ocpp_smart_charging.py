"""Version-neutral charging limits become schema-valid SetChargingProfile payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelet_app.ocpp.errors import InvalidCommandPayload
from pipelet_app.ocpp.smart_charging import lift_profile_id, profile_id, set_limit_request
from pipelet_app.ocpp.validation import validate

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
@pytest.mark.parametrize(
    "request_",
    [
        {"connectorId": 1, "limit": 10, "unit": "A"},
        {"connectorId": 1, "limit": 4140.55, "unit": "W", "numberPhases": 3},
        {"connectorId": 0, "limit": 32, "purpose": "ChargePointMaxProfile"},
        {"connectorId": 2, "limit": 6, "purpose": "TxProfile", "transactionId": "ocpp16:CP:17"},
        {
            "connectorId": 1,
            "limit": 8,
            "purpose": "TxProfile",
            "transactionId": "ocpp16:CP:17",
            "numberPhases": 1,
        },
        {
            "connectorId": 1,
            "limit": 9,
            "purpose": "TxProfile",
            "transactionId": "ocpp16:CP:17",
            "duration": 300,
        },
    ],
)
def test_payloads_pass_the_official_schema(version: str, request_: dict) -> None:
    payload = set_limit_request(version, request_, NOW)
    if version == "2.0.1" and request_.get("purpose") == "TxProfile":
        request_ = {**request_, "transactionId": "ocpp201:CP:tx-9"}
        payload = set_limit_request(version, request_, NOW)
    validate(version, "SetChargingProfile", payload)


def test_shapes() -> None:
    v16 = set_limit_request("1.6", {"connectorId": 1, "limit": 10.04, "unit": "a"}, NOW)
    profile = v16["csChargingProfiles"]
    assert profile["chargingProfileId"] == profile_id("TxDefaultProfile", 1) and profile["stackLevel"] == 0
    assert profile["chargingSchedule"] == {
        "startSchedule": "2026-06-01T12:00:00.000Z",
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}],
    }
    v201 = set_limit_request(
        "2.0.1", {"connectorId": 0, "limit": 11000, "unit": "W", "purpose": "ChargePointMaxProfile"}, NOW
    )
    assert (
        v201["evseId"] == 0
        and v201["chargingProfile"]["chargingProfilePurpose"] == "ChargingStationMaxProfile"
    )
    tx = set_limit_request(
        "1.6", {"connectorId": 1, "limit": 8, "purpose": "TxProfile", "transactionId": "ocpp16:CP:17"}, NOW
    )
    assert tx["csChargingProfiles"]["transactionId"] == 17


def test_a_phase_switch_goes_into_the_schedule_period_of_both_versions() -> None:
    """The surplus loop's 1p/3p switch: `numberPhases` in the period, `phaseToUse` never (2.0.1 allows
    it only where ACPhaseSwitchingSupported; the charger then picks the phase itself)."""
    request = {"connectorId": 1, "limit": 8, "unit": "A", "purpose": "TxProfile", "numberPhases": 1}
    v16 = set_limit_request("1.6", {**request, "transactionId": "ocpp16:CP:17"}, NOW)
    assert v16["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 8.0, "numberPhases": 1}
    ]
    validate("1.6", "SetChargingProfile", v16)
    v201 = set_limit_request("2.0.1", {**request, "transactionId": "ocpp201:CP:tx-9"}, NOW)
    assert v201["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 8.0, "numberPhases": 1}
    ]
    validate("2.0.1", "SetChargingProfile", v201)
    three = set_limit_request("2.0.1", {**request, "numberPhases": 3, "transactionId": "tx-9"}, NOW)
    assert three["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]["numberPhases"] == 3


def test_a_duration_bounds_the_schedule_of_both_versions() -> None:
    """The surplus loop's TxProfiles last `duration` seconds from their start (1.6 ChargingSchedule.duration,
    2.0.1 ChargingScheduleType.duration); without it the schedule carries none (the last period goes on)."""
    request = {"connectorId": 1, "limit": 9, "purpose": "TxProfile", "transactionId": "17", "duration": 300}
    v16 = set_limit_request("1.6", request, NOW)["csChargingProfiles"]["chargingSchedule"]
    assert v16["duration"] == 300 and v16["startSchedule"] == "2026-06-01T12:00:00.000Z"
    v201 = set_limit_request("2.0.1", request, NOW)["chargingProfile"]["chargingSchedule"][0]
    assert v201["duration"] == 300
    plain = set_limit_request("2.0.1", {**request, "duration": None}, NOW)
    assert "duration" not in plain["chargingProfile"]["chargingSchedule"][0]


def test_a_lift_is_a_second_tx_default_profile_under_its_own_id() -> None:
    """The surplus loop's lift goes beside the connector's baseline (id 2001), never over its id."""
    request = {"connectorId": 1, "limit": 6, "stackLevel": 1, "layer": "lift", "duration": 300}
    v16 = set_limit_request("1.6", request, NOW)["csChargingProfiles"]
    assert (v16["chargingProfileId"], v16["chargingProfilePurpose"], v16["stackLevel"]) == (
        lift_profile_id(1),
        "TxDefaultProfile",
        1,
    )
    assert lift_profile_id(1) == 4001 != profile_id("TxDefaultProfile", 1)
    v201 = set_limit_request("2.0.1", request, NOW)
    validate("2.0.1", "SetChargingProfile", v201)
    assert v201["chargingProfile"]["id"] == 4001
    with pytest.raises(InvalidCommandPayload):
        set_limit_request("1.6", {**request, "purpose": "TxProfile", "transactionId": "1"}, NOW)


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"limit": 5, "duration": 0},
        {"limit": 5, "duration": "soon"},
        {"limit": "lots"},
        {"limit": -1},
        {"limit": 5, "unit": "kW"},
        {"limit": 5, "purpose": "Whatever"},
        {"limit": 5, "purpose": "TxProfile"},
    ],
)
def test_bad_requests(bad: dict) -> None:
    with pytest.raises(InvalidCommandPayload):
        set_limit_request("1.6", bad, NOW)
