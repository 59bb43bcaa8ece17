"""OCPP 2.0.1 flows against a raw-JSON charging station: TransactionEvent life cycle, device model,
charging needs, and the 2.0.1 side of the command bus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from csms_helpers import add_charger, add_tenant, add_token, url_of
from rawcp import RawChargePoint, utc_now
from sqlmodel import col, select

from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    ChargingSession,
    DeviceVariable,
    EvChargingNeeds,
    IdTokenStatus,
    MeterValue,
    SessionSource,
)
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.ocpp.transactions import STALE_REASON

V201 = ("ocpp2.0.1",)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def register(wh: float, context: str, at: str | None = None, unit: dict | None = None) -> dict[str, Any]:
    sample: dict[str, Any] = {"value": wh, "context": context, "measurand": "Energy.Active.Import.Register"}
    if unit:
        sample["unitOfMeasure"] = unit
    return {"timestamp": at or utc_now(), "sampledValue": [sample]}


def event(kind: str, tx: str, seq: int, trigger: str, **extra: Any) -> dict[str, Any]:
    return {
        "eventType": kind,
        "timestamp": extra.pop("timestamp", utc_now()),
        "triggerReason": trigger,
        "seqNo": seq,
        "transactionInfo": {"transactionId": tx, **extra.pop("info", {})},
        **extra,
    }


def sessions() -> list[ChargingSession]:
    with session_scope() as s:
        return list(s.exec(select(ChargingSession).order_by(col(ChargingSession.id))).all())


def setup() -> None:
    tenant = add_tenant("op201")
    add_charger("CS-1", tenant_id=tenant)
    add_token(tenant, "RFID-1", parent_id_tag="GROUP-9")
    add_token(tenant, "RFID-BLOCKED", IdTokenStatus.BLOCKED)


TOKEN = {"idToken": "RFID-1", "type": "ISO14443"}


async def test_transaction_event_life_cycle(csms_any: CsmsServer) -> None:
    setup()
    async with RawChargePoint(url_of(csms_any), "CS-1", subprotocols=V201) as cp:
        await cp.boot201()
        info = (await cp.ok("Authorize", {"idToken": TOKEN}))["idTokenInfo"]
        assert info == {"status": "Accepted", "groupIdToken": {"idToken": "GROUP-9", "type": "Central"}}
        started = await cp.ok(
            "TransactionEvent",
            event(
                "Started",
                "tx-1",
                0,
                "Authorized",
                idToken=TOKEN,
                evse={"id": 1, "connectorId": 1},
                meterValue=[register(1000, "Transaction.Begin")],
            ),
        )
        assert started["idTokenInfo"]["status"] == "Accepted"
        update = event(
            "Updated", "tx-1", 1, "MeterValuePeriodic", meterValue=[register(1500, "Sample.Periodic")]
        )
        await cp.ok("TransactionEvent", update, unique_id="upd-1")
        await cp.ok("TransactionEvent", update, unique_id="upd-1")  # retried: applied once
        live = sessions()[0]
        assert live.end_utc is None and live.energy_wh == 500
        await cp.ok(
            "TransactionEvent",
            event(
                "Ended",
                "tx-1",
                2,
                "EVCommunicationLost",
                info={"stoppedReason": "EVDisconnected"},
                meterValue=[register(4000, "Transaction.End")],
            ),
        )
    [row] = sessions()
    assert row.transaction_id == "ocpp201:CS-1:tx-1" and row.source == SessionSource.OCPP_WALLBOX
    assert (row.station_id, row.id_tag, row.connector_id) == ("CS-1", "RFID-1", 1)
    assert (row.meter_start_wh, row.meter_stop_wh, row.energy_wh) == (1000, 4000, 3000)
    assert row.reason == "EVDisconnected"
    with session_scope() as s:
        values = s.exec(select(MeterValue.value).where(MeterValue.session_id == row.id)).all()
    assert sorted(values) == [1000, 1500, 4000]


async def test_offline_started_with_zero_register_and_token_change(csms: CsmsServer) -> None:
    setup()
    t0 = datetime.now(UTC) - timedelta(hours=1)
    async with RawChargePoint(url_of(csms), "CS-1", subprotocols=V201) as cp:
        await cp.boot201()
        # Plugged in while offline: no token yet, and the meter could not be read (0).
        await cp.ok(
            "TransactionEvent",
            event(
                "Started",
                "tx-off",
                0,
                "CablePluggedIn",
                offline=True,
                timestamp=iso(t0),
                evse={"id": 1, "connectorId": 1},
                meterValue=[register(0, "Transaction.Begin", iso(t0))],
            ),
        )
        answer = await cp.ok(
            "TransactionEvent",
            event(
                "Updated",
                "tx-off",
                1,
                "Authorized",
                offline=True,
                idToken=TOKEN,
                timestamp=iso(t0 + timedelta(minutes=1)),
                meterValue=[
                    register(20.0, "Sample.Periodic", iso(t0 + timedelta(minutes=1)), {"unit": "kWh"})
                ],
            ),
        )
        assert answer["idTokenInfo"]["status"] == "Accepted"
        await cp.ok(
            "TransactionEvent",
            event(
                "Ended",
                "tx-off",
                2,
                "StopAuthorized",
                info={"stoppedReason": "Local"},
                meterValue=[register(25000, "Transaction.End")],
            ),
        )
    [row] = sessions()
    assert row.id_tag == "RFID-1" and row.started_offline
    assert row.energy_wh == 5000  # from the first real register sample, not 25 000 - 0


async def test_ended_without_started_and_blocked_token(csms: CsmsServer) -> None:
    setup()
    async with RawChargePoint(url_of(csms), "CS-1", subprotocols=V201) as cp:
        await cp.boot201()
        answer = await cp.ok(
            "TransactionEvent",
            event(
                "Ended",
                "tx-lost",
                5,
                "EVDeparted",
                idToken={"idToken": "RFID-BLOCKED", "type": "ISO14443"},
                info={"stoppedReason": "EVDisconnected"},
                evse={"id": 2},
                meterValue=[register(700, "Transaction.End")],
            ),
        )
        assert answer["idTokenInfo"]["status"] == "Blocked"
    [row] = sessions()
    assert row.end_utc is not None and row.reason == "EVDisconnected" and row.connector_id == 2


async def test_reboot_closes_provisionally_and_resume_reopens(csms: CsmsServer) -> None:
    setup()
    async with RawChargePoint(url_of(csms), "CS-1", subprotocols=V201) as cp:
        await cp.boot201()
        await cp.ok(
            "TransactionEvent",
            event(
                "Started",
                "tx-r",
                0,
                "Authorized",
                idToken=TOKEN,
                evse={"id": 1, "connectorId": 1},
                meterValue=[register(100, "Transaction.Begin")],
            ),
        )
        await cp.boot201()
        assert sessions()[0].reason == STALE_REASON
        await cp.ok(
            "TransactionEvent",
            event("Updated", "tx-r", 1, "MeterValuePeriodic", meterValue=[register(300, "Sample.Periodic")]),
        )
        resumed = sessions()[0]
        assert resumed.end_utc is None and resumed.reason == ""
        await cp.ok(
            "TransactionEvent",
            event("Ended", "tx-r", 2, "StopAuthorized", meterValue=[register(900, "Transaction.End")]),
        )
    [row] = sessions()
    assert row.reason == "Local" and row.energy_wh == 800


async def test_notify_report_and_charging_needs(csms: CsmsServer) -> None:
    setup()
    async with RawChargePoint(url_of(csms), "CS-1", subprotocols=V201) as cp:
        await cp.boot201()
        cp.responders["GetBaseReport"] = lambda payload: {"status": "Accepted"}
        assert await send_command(
            "CS-1", "get-base-report", {"requestId": 1, "reportBase": "FullInventory"}
        ) == {"status": "Accepted"}
        await cp.ok(
            "NotifyReport",
            {
                "requestId": 1,
                "generatedAt": utc_now(),
                "seqNo": 0,
                "reportData": [
                    {
                        "component": {"name": "EVSE", "evse": {"id": 1}},
                        "variable": {"name": "Power"},
                        "variableAttribute": [{"type": "MaxSet", "value": "22000", "mutability": "ReadOnly"}],
                        "variableCharacteristics": {"dataType": "decimal", "supportsMonitoring": False},
                    },
                    {
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                        "variableAttribute": [{"value": "300"}],
                    },
                ],
            },
        )
        await cp.ok(
            "TransactionEvent",
            event("Started", "tx-n", 0, "Authorized", idToken=TOKEN, evse={"id": 1, "connectorId": 1}),
        )
        departure = iso(datetime.now(UTC) + timedelta(hours=8))
        answer = await cp.ok(
            "NotifyEVChargingNeeds",
            {
                "evseId": 1,
                "chargingNeeds": {
                    "requestedEnergyTransfer": "AC_three_phase",
                    "departureTime": departure,
                    "acChargingParameters": {
                        "energyAmount": 30000,
                        "evMinCurrent": 6,
                        "evMaxCurrent": 32,
                        "evMaxVoltage": 400,
                    },
                },
            },
        )
        # No site controller steers this charger: the CSMS offers a schedule itself (test_octt_201_k.py).
        assert answer == {"status": "Accepted"}
        offer = await cp.next_server_call()
        assert offer[2] == "SetChargingProfile" and offer[3]["chargingProfile"]["transactionId"] == "tx-n"
        await cp.answer(offer, {"status": "Accepted"})
    with session_scope() as s:
        variables = {
            (v.component, v.evse_id, v.variable, v.attribute_type): (v.value, v.data_type)
            for v in s.exec(select(DeviceVariable)).all()
        }
        assert variables == {
            ("EVSE", 1, "Power", "MaxSet"): ("22000", "decimal"),
            ("OCPPCommCtrlr", 0, "HeartbeatInterval", "Actual"): ("300", None),
        }
        needs = s.exec(select(EvChargingNeeds)).one()
        assert needs.energy_amount_wh == 30000 and needs.ev_max_current_a == 32
        assert needs.departure_time is not None and iso(needs.departure_time) == departure
        assert needs.session_id == sessions()[0].id


async def test_201_commands(csms: CsmsServer) -> None:
    setup()
    async with RawChargePoint(url_of(csms), "CS-1", subprotocols=V201) as cp:
        await cp.boot201()
        starts: list[dict] = []
        cp.responders["RequestStartTransaction"] = lambda p: starts.append(p) or {"status": "Accepted"}
        assert (await send_command("CS-1", "remote-start", {"idTag": "RFID-1", "connectorId": 1}))[
            "status"
        ] == "Accepted"
        assert starts[0]["idToken"] == {"idToken": "RFID-1", "type": "Central"} and starts[0]["evseId"] == 1
        assert isinstance(starts[0]["remoteStartId"], int)
        stops: list[dict] = []
        cp.responders["RequestStopTransaction"] = lambda p: stops.append(p) or {"status": "Accepted"}
        await send_command("CS-1", "remote-stop", {"transactionId": "ocpp201:CS-1:tx-9"})
        assert stops == [{"transactionId": "tx-9"}]
        cp.responders["SetVariables"] = lambda p: {
            "setVariableResult": [
                {
                    "attributeStatus": "Accepted",
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                }
            ]
        }
        await send_command(
            "CS-1",
            "change-configuration",
            {
                "setVariableData": [
                    {
                        "attributeValue": "120",
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                    }
                ]
            },
        )
        cp.responders["GetVariables"] = lambda p: {
            "getVariableResult": [
                {
                    "attributeStatus": "Accepted",
                    "attributeValue": "true",
                    "component": {"name": "AuthCtrlr"},
                    "variable": {"name": "Enabled"},
                }
            ]
        }
        await send_command(
            "CS-1",
            "get-configuration",
            {"getVariableData": [{"component": {"name": "AuthCtrlr"}, "variable": {"name": "Enabled"}}]},
        )
        profile = {
            "id": 3,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [
                {
                    "id": 1,
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000.0}],
                }
            ],
        }
        cp.responders["SetChargingProfile"] = lambda p: {"status": "Accepted"}
        assert await send_command(
            "CS-1", "set-charging-profile", {"evseId": 0, "chargingProfile": profile}
        ) == {"status": "Accepted"}
    with session_scope() as s:
        stored = {(v.component, v.variable): v.value for v in s.exec(select(DeviceVariable)).all()}
    assert stored == {("OCPPCommCtrlr", "HeartbeatInterval"): "120", ("AuthCtrlr", "Enabled"): "true"}


async def test_notify_event_reservation_and_charging_limits(csms: CsmsServer) -> None:
    setup()
    async with RawChargePoint(url_of(csms), "CS-1", subprotocols=V201) as cp:
        await cp.boot201()
        await cp.ok(
            "NotifyEvent",
            {
                "generatedAt": utc_now(),
                "seqNo": 0,
                "eventData": [
                    {
                        "eventId": 1,
                        "timestamp": utc_now(),
                        "trigger": "Alerting",
                        "actualValue": "85",
                        "eventNotificationType": "CustomMonitor",
                        "component": {"name": "EVSE", "evse": {"id": 1, "connectorId": 2}},
                        "variable": {"name": "Temperature"},
                    }
                ],
            },
        )
        await cp.ok("ReservationStatusUpdate", {"reservationId": 4, "reservationUpdateStatus": "Expired"})
        await cp.ok("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "SO"}, "evseId": 1})
    from pipelet_app.db.models import SecurityEvent

    with session_scope() as s:
        variables = {
            (v.component, v.variable, v.variable_instance): v.value
            for v in s.exec(select(DeviceVariable)).all()
        }
        events = s.exec(select(SecurityEvent.event_type)).all()
        where = s.exec(select(DeviceVariable).where(DeviceVariable.variable == "Temperature")).one()
    assert variables[("EVSE", "Temperature", "")] == "85"
    assert (where.evse_id, where.connector_id) == (1, 2)  # the event's evse, connectorId read as on the wire
    assert variables[("CSMS.Reservation", "Status", "4")] == "Expired"
    assert variables[("CSMS.ChargingLimit", "Source", "")] == "SO"
    assert events == ["NotifyEvent:EVSE.Temperature"]


@pytest.mark.parametrize(
    ("name", "payload", "action", "answer"),
    [
        ("reset", {"type": "Immediate"}, "Reset", {"status": "Accepted"}),
        ("reset", {"type": "OnIdle", "evseId": 1}, "Reset", {"status": "Scheduled"}),
        ("unlock", {"evseId": 1, "connectorId": 1}, "UnlockConnector", {"status": "Unlocked"}),
        (
            "unlock",
            {"evseId": 1, "connectorId": 1},
            "UnlockConnector",
            {"status": "OngoingAuthorizedTransaction"},
        ),
        (
            "change-availability",
            {"operationalStatus": "Inoperative"},
            "ChangeAvailability",
            {"status": "Accepted"},
        ),
        (
            "trigger-message",
            {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}},
            "TriggerMessage",
            {"status": "Accepted"},
        ),
        ("clear-cache", {}, "ClearCache", {"status": "Accepted"}),
        (
            "get-composite-schedule",
            {"duration": 3600, "evseId": 1},
            "GetCompositeSchedule",
            {"status": "Rejected"},
        ),
        ("clear-charging-profile", {"chargingProfileId": 3}, "ClearChargingProfile", {"status": "Unknown"}),
        ("data-transfer", {"vendorId": "com.example"}, "DataTransfer", {"status": "UnknownVendorId"}),
        (
            "get-diagnostics",
            {"logType": "DiagnosticsLog", "requestId": 1, "log": {"remoteLocation": "https://x/"}},
            "GetLog",
            {"status": "Accepted"},
        ),
    ],
)
async def test_201_commands_return_the_stations_answer(
    csms: CsmsServer, name: str, payload: dict, action: str, answer: dict
) -> None:
    setup()
    async with RawChargePoint(url_of(csms), "CS-1", subprotocols=V201) as cp:
        await cp.boot201()
        received: list[dict] = []
        cp.responders[action] = lambda p: received.append(p) or answer
        assert await send_command("CS-1", name, payload) == answer
        assert received == [payload]


async def test_sign_certificate_is_refused_with_a_trace(csms: CsmsServer) -> None:
    setup()
    async with RawChargePoint(url_of(csms), "CS-1", subprotocols=V201) as cp:
        await cp.boot201()
        assert await cp.ok("SignCertificate", {"csr": "-----BEGIN CERTIFICATE REQUEST-----"}) == {
            "status": "Rejected"
        }
