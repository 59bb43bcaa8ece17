"""Commands from the web app to chargers through the command bus (OCPP 1.6 remote / config / smart
charging test cases), in-process and over the loopback endpoint the web process uses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from csms_helpers import add_charger, add_tenant, add_token, charger_row, url_of
from rawcp import RawChargePoint, utc_now
from sqlmodel import col, select
from websockets.exceptions import InvalidStatus

from pipelet_app.db import session_scope
from pipelet_app.db.models import ChargingProfileRecord, ChargingSession, DeviceVariable, OcppMessage
from pipelet_app.ocpp import commands
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.errors import (
    ChargerOffline,
    CommandCallError,
    CommandTimeout,
    CsmsUnavailable,
    InvalidCommandPayload,
    UnknownCommand,
)
from pipelet_app.ocpp.running_cost import PROBE_COMPONENT
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.settings import get_settings


@pytest.fixture
async def cp(csms: CsmsServer) -> AsyncIterator[RawChargePoint]:
    tenant = add_tenant("op")
    add_charger("CP-1", tenant_id=tenant, password="first-password")
    add_token(tenant, "TAG-OK")
    async with RawChargePoint(url_of(csms), "CP-1", password="first-password") as charge_point:
        await charge_point.boot16()
        yield charge_point


def answering(cp: RawChargePoint, action: str, answer: dict[str, Any] | list[Any]) -> list[dict[str, Any]]:
    """Make the charge point answer `action` with `answer`; returns the list of payloads it receives."""
    received: list[dict[str, Any]] = []

    def respond(payload: dict[str, Any]) -> dict[str, Any] | list[Any]:
        received.append(payload)
        return answer

    cp.responders[action] = respond
    return received


PROFILE = {
    "chargingProfileId": 7,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
    },
}


@pytest.mark.parametrize(
    ("tc", "name", "payload", "action", "answer"),
    [
        ("TC_013", "reset", {"type": "Hard"}, "Reset", {"status": "Accepted"}),
        ("TC_014", "reset", {"type": "Soft"}, "Reset", {"status": "Accepted"}),
        ("TC_017_1", "unlock", {"connectorId": 1}, "UnlockConnector", {"status": "Unlocked"}),
        ("TC_030", "unlock", {"connectorId": 1}, "UnlockConnector", {"status": "UnlockFailed"}),
        ("TC_031", "unlock", {"connectorId": 9}, "UnlockConnector", {"status": "NotSupported"}),
        ("TC_026", "remote-start", {"idTag": "TAG-OK"}, "RemoteStartTransaction", {"status": "Rejected"}),
        ("TC_028", "remote-stop", {"transactionId": 99}, "RemoteStopTransaction", {"status": "Rejected"}),
        ("TC_061", "clear-cache", {}, "ClearCache", {"status": "Accepted"}),
        (
            "TC_054",
            "trigger-message",
            {"requestedMessage": "StatusNotification", "connectorId": 1},
            "TriggerMessage",
            {"status": "Accepted"},
        ),
        (
            "TC_055",
            "trigger-message",
            {"requestedMessage": "MeterValues"},
            "TriggerMessage",
            {"status": "Rejected"},
        ),
        (
            "TC_ChangeAvailability",
            "change-availability",
            {"connectorId": 0, "type": "Inoperative"},
            "ChangeAvailability",
            {"status": "Scheduled"},
        ),
        (
            "TC_046",
            "reserve-now",
            {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "TAG-OK", "reservationId": 3},
            "ReserveNow",
            {"status": "Accepted"},
        ),
        (
            "TC_048",
            "reserve-now",
            {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "TAG-OK", "reservationId": 4},
            "ReserveNow",
            {"status": "Occupied"},
        ),
        ("TC_051", "cancel-reservation", {"reservationId": 3}, "CancelReservation", {"status": "Accepted"}),
        ("TC_052", "cancel-reservation", {"reservationId": 5}, "CancelReservation", {"status": "Rejected"}),
        (
            "TC_044_1",
            "update-firmware",
            {"location": "https://fw.example/x.bin", "retrieveDate": "2030-01-01T00:00:00Z"},
            "UpdateFirmware",
            {},
        ),
        (
            "TC_045_1",
            "get-diagnostics",
            {"location": "ftp://diag.example/"},
            "GetDiagnostics",
            {"fileName": "diag.zip"},
        ),
        ("TC_045_2", "get-diagnostics", {"location": "ftp://diag.example/"}, "GetDiagnostics", {}),
        (
            "TC_064",
            "data-transfer",
            {"vendorId": "com.example", "data": "hi"},
            "DataTransfer",
            {"status": "Accepted", "data": "ok"},
        ),
        (
            "TC_066",
            "get-composite-schedule",
            {"connectorId": 1, "duration": 3600},
            "GetCompositeSchedule",
            {
                "status": "Accepted",
                "connectorId": 1,
                "scheduleStart": "2030-01-01T00:00:00Z",
                "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
                },
            },
        ),
    ],
)
async def test_commands_return_the_chargers_own_answer(
    cp: RawChargePoint, tc: str, name: str, payload: dict, action: str, answer: dict
) -> None:
    received = answering(cp, action, answer)
    assert await send_command("CP-1", name, payload, timeout=5) == answer
    assert received == [payload]


async def test_tc_010_remote_start_then_transaction(cp: RawChargePoint) -> None:
    received = answering(cp, "RemoteStartTransaction", {"status": "Accepted"})
    await cp.ok("StatusNotification", {"connectorId": 1, "status": "Preparing", "errorCode": "NoError"})
    assert await send_command("CP-1", "remote-start", {"idTag": "TAG-OK", "connectorId": 1}) == {
        "status": "Accepted"
    }
    assert received == [{"idTag": "TAG-OK", "connectorId": 1}]
    start = await cp.ok(
        "StartTransaction", {"connectorId": 1, "idTag": "TAG-OK", "meterStart": 0, "timestamp": utc_now()}
    )
    # TC_012: remote stop addressed by the session's transaction_id as the API shows it.
    stops = answering(cp, "RemoteStopTransaction", {"status": "Accepted"})
    with session_scope() as s:
        key = s.exec(select(ChargingSession.transaction_id)).one()
    assert await send_command("CP-1", "remote-stop", {"transactionId": key}) == {"status": "Accepted"}
    assert stops == [{"transactionId": start["transactionId"]}]


async def test_tc_059_remote_start_with_charging_profile(cp: RawChargePoint) -> None:
    received = answering(cp, "RemoteStartTransaction", {"status": "Accepted"})
    profile = {
        **PROFILE,
        "chargingProfilePurpose": "TxProfile",
        "chargingSchedule": {
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 4140.5}],
        },
    }
    payload = {"idTag": "TAG-OK", "connectorId": 1, "chargingProfile": profile}
    assert (await send_command("CP-1", "remote-start", payload))["status"] == "Accepted"
    assert received[0]["chargingProfile"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 4140.5


async def test_tc_019_get_configuration_is_stored(cp: RawChargePoint) -> None:
    keys = [
        {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
        {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
    ]
    answering(cp, "GetConfiguration", {"configurationKey": keys, "unknownKey": ["Nope"]})
    answer = await send_command(
        "CP-1", "get-configuration", {"key": ["HeartbeatInterval", "NumberOfConnectors", "Nope"]}
    )
    assert answer["unknownKey"] == ["Nope"]
    with session_scope() as s:
        # the CSMS's own California-pricing question after the boot is stored apart (CSMS.Probe)
        rows = s.exec(select(DeviceVariable).where(DeviceVariable.component != PROBE_COMPONENT)).all()
        stored = {(v.variable, v.value, v.mutability) for v in rows}
    assert stored == {("HeartbeatInterval", "300", "ReadWrite"), ("NumberOfConnectors", "2", "ReadOnly")}


@pytest.mark.parametrize(
    ("status", "stored"), [("Accepted", True), ("NotSupported", False), ("Rejected", False)]
)
async def test_tc_021_tc_040_change_configuration(cp: RawChargePoint, status: str, stored: bool) -> None:
    answering(cp, "ChangeConfiguration", {"status": status})
    answer = await send_command(
        "CP-1", "change-configuration", {"key": "MeterValueSampleInterval", "value": "60"}
    )
    assert answer == {"status": status}
    with session_scope() as s:
        rows = s.exec(
            select(DeviceVariable).where(DeviceVariable.variable == "MeterValueSampleInterval")
        ).all()
    assert bool(rows) is stored


async def test_tc_073_password_rotation(csms: CsmsServer, cp: RawChargePoint) -> None:
    received = answering(cp, "ChangeConfiguration", {"status": "Accepted"})
    new_password = "0123456789abcdef0123"
    await send_command("CP-1", "change-configuration", {"key": "AuthorizationKey", "value": new_password})
    assert received[0]["value"] == new_password
    await cp.close()
    async with RawChargePoint(url_of(csms), "CP-1", password=new_password) as again:
        assert (await again.boot16())["status"] == "Accepted"
    with pytest.raises(InvalidStatus):
        await RawChargePoint(url_of(csms), "CP-1", password="first-password").connect()
    # logged before send_command returns (base.py `_log_outgoing`), so no waiting
    with session_scope() as s:
        logged = s.exec(select(OcppMessage).where(OcppMessage.action == "ChangeConfiguration")).all()
    assert logged and all(new_password not in (m.payload + (m.response or "")) for m in logged)


async def test_tc_056_tc_057_tc_067_charging_profiles_are_recorded(cp: RawChargePoint) -> None:
    received = answering(cp, "SetChargingProfile", {"status": "Accepted"})
    await send_command("CP-1", "set-charging-profile", {"connectorId": 0, "csChargingProfiles": PROFILE})
    tx_profile = {
        **PROFILE,
        "chargingProfileId": 8,
        "chargingProfilePurpose": "TxProfile",
        "transactionId": 1,
    }
    await send_command("CP-1", "set-charging-profile", {"connectorId": 1, "csChargingProfiles": tx_profile})
    assert [r["csChargingProfiles"]["chargingProfileId"] for r in received] == [7, 8]
    answering(cp, "ClearChargingProfile", {"status": "Accepted"})
    await send_command("CP-1", "clear-charging-profile", {"id": 7})
    with session_scope() as s:
        rows = s.exec(select(ChargingProfileRecord).order_by(col(ChargingProfileRecord.profile_id))).all()
    assert [(r.profile_id, r.purpose, r.status, r.cleared_at is not None) for r in rows] == [
        (7, "TxDefaultProfile", "Accepted", True),
        (8, "TxProfile", "Accepted", False),
    ]


async def test_tc_042_tc_043_local_list_versions(cp: RawChargePoint) -> None:
    answering(cp, "GetLocalListVersion", {"listVersion": 4})
    assert await send_command("CP-1", "get-local-list-version") == {"listVersion": 4}
    assert charger_row("CP-1").local_list_version == 4
    answering(cp, "SendLocalList", {"status": "Accepted"})
    full = {
        "listVersion": 5,
        "updateType": "Full",
        "localAuthorizationList": [{"idTag": "TAG-OK", "idTagInfo": {"status": "Accepted"}}],
    }
    await send_command("CP-1", "send-local-list", full)
    assert charger_row("CP-1").local_list_version == 5
    answering(cp, "SendLocalList", {"status": "VersionMismatch"})  # TC_043_5: failed update keeps the version
    await send_command("CP-1", "send-local-list", {"listVersion": 7, "updateType": "Differential"})
    assert charger_row("CP-1").local_list_version == 5


async def test_command_errors(csms: CsmsServer, cp: RawChargePoint) -> None:
    with pytest.raises(ChargerOffline) as offline:
        await send_command("CP-NOT-CONNECTED", "reset", {"type": "Soft"})
    assert offline.value.http_status == 409
    with pytest.raises(UnknownCommand):
        await send_command("CP-1", "self-destruct", {})
    with pytest.raises(UnknownCommand):
        await send_command(
            "CP-1", "get-base-report", {"requestId": 1, "reportBase": "FullInventory"}
        )  # 2.0.1 only
    with pytest.raises(InvalidCommandPayload):
        await send_command("CP-1", "reset", {"type": "Gently"})
    answering(cp, "Reset", ["InternalError", "flash write failed", {}])
    with pytest.raises(CommandCallError) as call_error:
        await send_command("CP-1", "reset", {"type": "Soft"})
    assert call_error.value.code == "InternalError" and call_error.value.http_status == 502
    cp.responders.pop("Reset")
    with pytest.raises(CommandTimeout) as timeout:
        await send_command("CP-1", "reset", {"type": "Soft"}, timeout=0.3)
    assert timeout.value.http_status == 504
    # The late answer to the timed-out call is dropped; the connection keeps working.
    late = await cp.next_server_call()
    await cp.answer(late, {"status": "Accepted"})
    answering(cp, "Reset", {"status": "Accepted"})
    assert await send_command("CP-1", "reset", {"type": "Soft"}) == {"status": "Accepted"}


async def test_commands_over_loopback_like_the_web_process(
    csms: CsmsServer, cp: RawChargePoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web app runs in another process: no local server, commands go to 127.0.0.1:CSMS_PORT."""
    monkeypatch.setattr(commands, "_local_server", None)
    monkeypatch.setenv("CSMS_PORT", str(csms.port))
    get_settings.cache_clear()
    answering(cp, "Reset", {"status": "Accepted"})
    assert await send_command("CP-1", "reset", {"type": "Hard"}) == {"status": "Accepted"}
    with pytest.raises(ChargerOffline):
        await send_command("CP-ELSEWHERE", "reset", {"type": "Hard"})
    cp.responders.pop("Reset")
    with pytest.raises(CommandTimeout):
        await send_command("CP-1", "reset", {"type": "Hard"}, timeout=0.3)
    answering(cp, "UnlockConnector", ["GenericError", "jammed", {}])
    with pytest.raises(CommandCallError):
        await send_command("CP-1", "unlock", {"connectorId": 1})


async def test_loopback_endpoint_requires_the_token(
    csms: CsmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from websockets.asyncio.client import connect

    with pytest.raises(InvalidStatus) as refused:
        await connect(
            f"ws://127.0.0.1:{csms.port}/internal/commands", additional_headers={"X-Pipelet-Token": "guess"}
        )
    assert refused.value.response.status_code == 403


async def test_csms_not_running_is_not_charger_offline(monkeypatch: pytest.MonkeyPatch, db: str) -> None:
    """A dead CSMS is the platform's fault: 503 naming the endpoint, never the charger's 409."""
    monkeypatch.setattr(commands, "_local_server", None)
    monkeypatch.setenv("CSMS_PORT", "1")  # nothing listens there
    get_settings.cache_clear()
    with pytest.raises(CsmsUnavailable) as down:
        await send_command("CP-1", "reset", {"type": "Hard"})
    assert not isinstance(down.value, ChargerOffline)
    assert down.value.http_status == 503
    assert "ws://127.0.0.1:1/internal/commands" in str(down.value)


def test_envelope_round_trip() -> None:
    assert commands.raise_for_envelope({"ok": True, "payload": {"a": 1}}) == {"a": 1}
    with pytest.raises(CommandTimeout):
        commands.raise_for_envelope(
            json.loads(json.dumps({"ok": False, "error": "timeout", "description": "x"}))
        )


async def test_tc_043_send_full_local_list_from_the_database(cp: RawChargePoint) -> None:
    from datetime import UTC, datetime, timedelta

    from pipelet_app.db.models import IdTokenStatus

    tenant = charger_row("CP-1").tenant_id
    assert tenant is not None
    add_token(tenant, "TAG-BLOCKED", IdTokenStatus.BLOCKED, parent_id_tag="PARENT")
    add_token(tenant, "TAG-END", expires_at=datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=1))
    received = answering(cp, "SendLocalList", {"status": "Accepted"})
    assert await send_command("CP-1", "send-local-list", {"fromDatabase": True}) == {"status": "Accepted"}
    assert received == [
        {
            "listVersion": 1,
            "updateType": "Full",
            "localAuthorizationList": [
                {"idTag": "TAG-BLOCKED", "idTagInfo": {"status": "Blocked", "parentIdTag": "PARENT"}},
                {
                    "idTag": "TAG-END",
                    "idTagInfo": {"status": "Accepted", "expiryDate": "2030-01-01T01:00:00.000Z"},
                },
                {"idTag": "TAG-OK", "idTagInfo": {"status": "Accepted"}},
            ],
        }
    ]
    assert charger_row("CP-1").local_list_version == 1
    await send_command("CP-1", "send-local-list", {"fromDatabase": True})
    assert received[1]["listVersion"] == 2


async def test_set_charging_limit_is_version_neutral(csms: CsmsServer, cp: RawChargePoint) -> None:
    received = answering(cp, "SetChargingProfile", {"status": "Accepted"})
    assert await send_command("CP-1", "set-charging-limit", {"connectorId": 1, "limit": 16, "unit": "A"}) == {
        "status": "Accepted"
    }
    assert received[0]["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 16.0}
    ]
    add_charger("CS-201")
    async with RawChargePoint(url_of(csms), "CS-201", subprotocols=("ocpp2.0.1",)) as station:
        await station.boot201()
        got = answering(station, "SetChargingProfile", {"status": "Accepted"})
        await send_command("CS-201", "set-charging-limit", {"connectorId": 1, "limit": 7400, "unit": "W"})
        assert (
            got[0]["evseId"] == 1
            and got[0]["chargingProfile"]["chargingSchedule"][0]["chargingRateUnit"] == "W"
        )
    with session_scope() as s:
        rows = s.exec(select(ChargingProfileRecord)).all()
    assert {(r.purpose, r.status) for r in rows} == {("TxDefaultProfile", "Accepted")} and len(rows) == 2
