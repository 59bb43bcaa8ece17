"""Issue 9 part 2: OCPP sessions keep every watt-hour, against raw frames over real sockets.

Every case is bad or unusual input seen from real chargers: the answer is a valid OCPP response, the
session is neither lost, duplicated nor silently wrong, and what was unusual is visible (session flags).
Rules chosen where the specs are silent: docs/ocpp-energy-rules.md.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from csms_helpers import add_charger, add_tenant, set_max_power, url_of
from rawcp import RawChargePoint
from sqlmodel import col, select

from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Driver,
    IdToken,
    MeterValue,
    OcppMessage,
    TenantKind,
)
from pipelet_app.ocpp.base import MAX_MESSAGE_BYTES
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.server import CsmsServer
from tests.integration.running_csms import running_csms

V16 = ("ocpp1.6",)
V201 = ("ocpp2.0.1",)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def sessions() -> list[ChargingSession]:
    with session_scope() as s:
        return list(s.exec(select(ChargingSession).order_by(col(ChargingSession.id))).all())


def charger(charge_point_id: str) -> Charger:
    with session_scope() as s:
        row = s.exec(select(Charger).where(Charger.charge_point_id == charge_point_id)).one()
        return row


def operator_charger(cp_id: str) -> int:
    tenant = add_tenant("op-" + cp_id.lower())
    add_charger(cp_id, tenant_id=tenant)
    return tenant


def sample16(wh: float, at: datetime, context: str | None = "Sample.Periodic") -> dict[str, Any]:
    value: dict[str, Any] = {"value": str(wh), "unit": "Wh", "measurand": "Energy.Active.Import.Register"}
    if context:
        value["context"] = context
    return {"timestamp": iso(at), "sampledValue": [value]}


# ---------------------------------------------------------------------- big frames
def stop_with_data(tx: int, start_wh: int, at: datetime, hours: int) -> dict[str, Any]:
    """A StopTransaction with a reading every 10 s for `hours` hours: ~3,600 readings per hour."""
    readings = [
        {
            "timestamp": iso(at + timedelta(seconds=10 * i)),
            "sampledValue": [
                {"value": str(start_wh + i), "unit": "Wh", "measurand": "Energy.Active.Import.Register"}
            ],
        }
        for i in range(hours * 360)
    ]
    return {
        "transactionId": tx,
        "meterStop": start_wh + hours * 360,
        "timestamp": iso(at + timedelta(hours=hours)),
        "reason": "EVDisconnected",
        "transactionData": readings,
    }


@pytest.mark.parametrize("hours", [10, 24])
async def test_long_stop_transaction_with_transaction_data_closes_the_session(
    csms: CsmsServer, hours: int
) -> None:
    operator_charger("CP-BIGSTOP")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours + 1)
    async with RawChargePoint(url_of(csms), "CP-BIGSTOP") as cp:
        await cp.boot16()
        tx = (
            await cp.ok(
                "StartTransaction",
                {"connectorId": 1, "idTag": "X", "meterStart": 5000, "timestamp": iso(t0)},
            )
        )["transactionId"]
        payload = stop_with_data(tx, 5000, t0, hours)
        size = len(json.dumps([2, "stop-big", "StopTransaction", payload]))
        assert size > 160_000  # the frame that used to be refused
        answer = await cp.call("StopTransaction", payload, unique_id="stop-big", timeout=60)
        assert answer[0] == 3, answer
    [row] = sessions()
    assert row.end_utc is not None and row.energy_wh == hours * 360 and row.reason == "EVDisconnected"


async def test_big_notify_report_is_accepted(csms: CsmsServer) -> None:
    operator_charger("CS-REPORT")
    items = [
        {
            "component": {"name": f"Component{i}"},
            "variable": {"name": "Value"},
            "variableAttribute": [{"type": "Actual", "value": "x" * 200, "mutability": "ReadOnly"}],
        }
        for i in range(900)
    ]
    payload = {"requestId": 1, "generatedAt": iso(datetime.now(UTC)), "seqNo": 0, "reportData": items}
    assert len(json.dumps(payload)) > 160_000
    async with RawChargePoint(url_of(csms), "CS-REPORT", subprotocols=V201) as cp:
        await cp.boot201()
        assert (await cp.call("NotifyReport", payload, timeout=60))[0] == 3


@pytest.mark.parametrize(("subprotocols", "code"), [(V16, "FormationViolation"), (V201, "FormatViolation")])
async def test_too_big_frame_gets_a_call_error_and_the_socket_stays(
    csms: CsmsServer, subprotocols: tuple[str, ...], code: str
) -> None:
    assert MAX_MESSAGE_BYTES >= 1 << 20  # the documented promise: at least 1 MiB is accepted
    operator_charger("CP-HUGE")
    async with RawChargePoint(url_of(csms), "CP-HUGE", subprotocols=subprotocols) as cp:
        blob = "x" * (MAX_MESSAGE_BYTES + 10)
        await cp.send_raw(json.dumps([2, "huge-1", "DataTransfer", {"vendorId": "v", "data": blob}]))
        answer = await cp.next_response(timeout=30)
        assert answer[:3] == [4, "huge-1", code]
        assert (await cp.call("Heartbeat", {}))[0] == 3
    with session_scope() as s:
        logged = s.exec(select(OcppMessage).where(OcppMessage.unique_id == "huge-1")).one()
        assert logged.error_code == code


# ---------------------------------------------------------------------- auto-registered status
def claim_unauthenticated(charge_point_id: str) -> None:
    """An operator takes the charger into a tenant and lets it in without credentials."""
    from pipelet_app.db.models import ChargerAuthMode

    tenant = add_tenant(f"claim-{charge_point_id.lower()}")
    with session_scope() as s:
        row = s.exec(select(Charger).where(Charger.charge_point_id == charge_point_id)).one()
        row.tenant_id, row.auth_mode = tenant, ChargerAuthMode.NONE
        s.add(row)


@pytest.fixture
async def csms_auto(db: str) -> AsyncIterator[CsmsServer]:
    async with running_csms("auto-node", auto_register=True) as server:
        yield server


async def test_auto_registered_1_6_charger_takes_its_connectors_status(csms_auto: CsmsServer) -> None:
    async with RawChargePoint(url_of(csms_auto), "CP-AUTO") as cp:
        await cp.boot16()
        assert charger("CP-AUTO").status == "Unknown"
        now = iso(datetime.now(UTC))
        base = {"errorCode": "NoError", "timestamp": now}
        await cp.ok("StatusNotification", {"connectorId": 1, "status": "Available", **base})
        assert charger("CP-AUTO").status == "Available"
        await cp.ok("StatusNotification", {"connectorId": 1, "status": "Charging", **base})
        assert charger("CP-AUTO").status == "Charging"
        # Once the charger reports itself (connector 0), that is its status.
        await cp.ok("StatusNotification", {"connectorId": 0, "status": "Unavailable", **base})
        await cp.ok("StatusNotification", {"connectorId": 2, "status": "Available", **base})
        assert charger("CP-AUTO").status == "Unavailable"


async def test_auto_registered_2_0_1_station_takes_its_connectors_status(csms_auto: CsmsServer) -> None:
    """Once claimed: an unclaimed 2.0.1 station waits in Pending and reports nothing (TC_B_30)."""
    async with RawChargePoint(url_of(csms_auto), "CS-AUTO", subprotocols=V201) as cp:
        assert (await cp.boot201())["status"] == "Pending"
    claim_unauthenticated("CS-AUTO")
    async with RawChargePoint(url_of(csms_auto), "CS-AUTO", subprotocols=V201) as cp:
        assert (await cp.boot201())["status"] == "Accepted"
        now = iso(datetime.now(UTC))

        async def status(evse: int, value: str) -> None:
            await cp.ok(
                "StatusNotification",
                {"timestamp": now, "connectorStatus": value, "evseId": evse, "connectorId": 1},
            )

        await status(1, "Occupied")
        await status(2, "Occupied")
        assert charger("CS-AUTO").status == "Occupied"
        await status(2, "Available")
        assert charger("CS-AUTO").status == "Available"
        await status(2, "Faulted")
        assert charger("CS-AUTO").status == "Faulted"  # the latest, as the connectors disagree


# ---------------------------------------------------------------------- id tokens are case-insensitive
def fleet_token(token: str, fleet_slug: str = "acme") -> int:
    """A fleet tenant owning `token` for one of its drivers; returns the driver's id."""
    fleet = add_tenant(fleet_slug, TenantKind.FLEET)
    with session_scope() as s:
        driver = Driver(fleet_id=fleet, name="Dana")
        s.add(driver)
        s.flush()
        s.add(IdToken(tenant_id=fleet, token=token, driver_id=driver.id))
        assert driver.id is not None
        return driver.id


@pytest.mark.parametrize("spelling", ["acme0001", "Acme0001", "ACME0001"])
async def test_1_6_tokens_match_in_any_case_and_link_the_driver(csms_any: CsmsServer, spelling: str) -> None:
    operator_charger("CP-CASE")
    driver_id = fleet_token("ACME0001")
    async with RawChargePoint(url_of(csms_any), "CP-CASE") as cp:
        await cp.boot16()
        assert (await cp.ok("Authorize", {"idTag": spelling}))["idTagInfo"]["status"] == "Accepted"
        start = {"connectorId": 1, "idTag": spelling, "meterStart": 100, "timestamp": iso(datetime.now(UTC))}
        answer = await cp.ok("StartTransaction", start)
        assert answer["idTagInfo"]["status"] == "Accepted"
        stop = {"transactionId": answer["transactionId"], "meterStop": 900, "timestamp": start["timestamp"]}
        assert (await cp.ok("StopTransaction", {**stop, "idTag": spelling.swapcase()}))["idTagInfo"][
            "status"
        ] == "Accepted"
        assert (await cp.ok("Authorize", {"idTag": "ACME0002"}))["idTagInfo"]["status"] == "Invalid"
    [row] = sessions()
    assert row.driver_id == driver_id and row.id_tag == spelling and row.energy_wh == 800


async def test_2_0_1_tokens_match_in_any_case_and_a_respelling_is_no_token_change(
    csms_any: CsmsServer,
) -> None:
    operator_charger("CS-CASE")
    driver_id = fleet_token("acme0001")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    async with RawChargePoint(url_of(csms_any), "CS-CASE", subprotocols=V201) as cp:
        await cp.boot201()
        auth = await cp.ok("Authorize", {"idToken": {"idToken": "ACME0001", "type": "ISO14443"}})
        assert auth["idTokenInfo"]["status"] == "Accepted"
        started = tx_event("Started", "tx-case", 0, t0, token="ACME0001", meter=[reg(1000, t0)])
        assert (await cp.ok("TransactionEvent", started))["idTokenInfo"]["status"] == "Accepted"
        later = t0 + timedelta(minutes=1)
        updated = tx_event("Updated", "tx-case", 1, later, token="Acme0001", meter=[reg(1500, later)])
        await cp.ok("TransactionEvent", updated)
    [row] = sessions()
    assert row.driver_id == driver_id and row.id_tag == "ACME0001"


async def test_local_list_differential_ignores_a_respelt_token(csms: CsmsServer) -> None:
    tenant = operator_charger("CP-LL")
    with session_scope() as s:
        s.add(IdToken(tenant_id=tenant, token="ACME0001"))
    async with RawChargePoint(url_of(csms), "CP-LL") as cp:
        await cp.boot16()
        received: list[dict[str, Any]] = []
        cp.responders["SendLocalList"] = lambda p: received.append(p) or {"status": "Accepted"}
        # The list the charger holds spells the token in lower case (sent by hand, by another system).
        full = {
            "listVersion": 1,
            "updateType": "Full",
            "localAuthorizationList": [{"idTag": "acme0001", "idTagInfo": {"status": "Accepted"}}],
        }
        await send_command("CP-LL", "send-local-list", full)
        await send_command("CP-LL", "send-local-list", {"fromDatabase": True, "updateType": "Differential"})
    assert received[-1] == {"listVersion": 2, "updateType": "Differential"}  # nothing to change


# ---------------------------------------------------------------------- 2.0.1 helpers
def reg(wh: float, at: datetime, context: str | None = None) -> dict[str, Any]:
    """A 2.0.1 meterValue with one energy register sample (no context: it defaults to Sample.Periodic)."""
    sample: dict[str, Any] = {"value": wh, "measurand": "Energy.Active.Import.Register"}
    if context:
        sample["context"] = context
    return {"timestamp": iso(at), "sampledValue": [sample]}


def tx_event(
    kind: str,
    tx: str,
    seq: int,
    at: datetime,
    *,
    token: str | None = None,
    meter: list[dict[str, Any]] | None = None,
    evse: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    trigger = {"Started": "Authorized", "Updated": "MeterValuePeriodic", "Ended": "StopAuthorized"}[kind]
    info: dict[str, Any] = {"transactionId": tx}
    if kind == "Ended":
        info["stoppedReason"] = "Local"
    payload: dict[str, Any] = {
        "eventType": kind,
        "timestamp": iso(at),
        "triggerReason": trigger,
        "seqNo": seq,
        "transactionInfo": info,
        "evse": {"id": evse, "connectorId": 1},
        **extra,
    }
    if token:
        payload["idToken"] = {"idToken": token, "type": "ISO14443"}
    if meter:
        payload["meterValue"] = meter
    return payload


# ---------------------------------------------------------------------- late start with a meter of 0
async def previous_then_late_zero_16(
    cp: RawChargePoint, t0: datetime, previous_stop: int, readings: list[tuple[int, int]], stop: int
) -> None:
    """A session ending at `previous_stop`, then one started at t0 with meterStart 0, delivered late
    (now, hours after t0), with MeterValues (minute, Wh) and a stop reading one hour after t0."""
    first = await cp.ok(
        "StartTransaction",
        {
            "connectorId": 1,
            "idTag": "X",
            "meterStart": previous_stop - 1000,
            "timestamp": iso(t0 - timedelta(hours=2)),
        },
    )
    await cp.ok(
        "StopTransaction",
        {
            "transactionId": first["transactionId"],
            "meterStop": previous_stop,
            "timestamp": iso(t0 - timedelta(hours=1)),
        },
    )
    late = await cp.ok(
        "StartTransaction", {"connectorId": 1, "idTag": "X", "meterStart": 0, "timestamp": iso(t0)}
    )
    tx = late["transactionId"]
    for minute, wh in readings:
        await cp.ok(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": tx,
                "meterValue": [sample16(wh, t0 + timedelta(minutes=minute))],
            },
        )
    await cp.ok(
        "StopTransaction", {"transactionId": tx, "meterStop": stop, "timestamp": iso(t0 + timedelta(hours=1))}
    )


@pytest.mark.parametrize(
    ("previous_stop", "readings", "stop", "energy", "flags", "review"),
    [
        # The meter was replaced: readings below the old meter's last register. 12.5 kWh kept.
        (50_000, [], 12_500, 12_500, "start_zero_meter_reset", False),
        (80_000, [(30, 6_000)], 9_000, 9_000, "start_zero_meter_reset", False),
        # The meter could not be read: its register continued from the previous stop.
        (50_000, [(5, 51_000)], 62_500, 12_500, "start_from_previous_register", False),
        (120_000, [], 131_000, 11_000, "start_from_previous_register", False),
        # Both are possible at 22 kW: the charger's 0 is kept and the session held for review.
        (5_000, [], 17_500, 17_500, "start_zero_ambiguous", True),
    ],
)
async def test_late_1_6_start_of_zero_is_decided_from_evidence(
    csms_any: CsmsServer,
    previous_stop: int,
    readings: list[tuple[int, int]],
    stop: int,
    energy: int,
    flags: str,
    review: bool,
) -> None:
    operator_charger("CP-ZERO")
    set_max_power("CP-ZERO", 1, 22_000)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    async with RawChargePoint(url_of(csms_any), "CP-ZERO") as cp:
        await cp.boot16()
        await previous_then_late_zero_16(cp, t0, previous_stop, readings, stop)
    row = sessions()[-1]
    assert row.meter_start_wh == 0 and row.meter_stop_wh == stop  # the charger's readings, kept
    assert (row.energy_wh, row.flags, row.review_pending) == (energy, flags, review)


async def test_charger_clock_two_minutes_slow_with_a_new_meter(csms: CsmsServer) -> None:
    """No history and a start 150 s 'late' because the clock is slow: 0 is simply believed."""
    operator_charger("CP-SLOW")
    set_max_power("CP-SLOW", 1, 11_000)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=150)
    async with RawChargePoint(url_of(csms), "CP-SLOW") as cp:
        await cp.boot16()
        tx = (
            await cp.ok(
                "StartTransaction", {"connectorId": 1, "idTag": "X", "meterStart": 0, "timestamp": iso(start)}
            )
        )["transactionId"]
        stop = {"transactionId": tx, "meterStop": 1_500, "timestamp": iso(start + timedelta(minutes=10))}
        await cp.ok("StopTransaction", stop)
    [row] = sessions()
    assert row.started_offline and (row.energy_wh, row.flags, row.review_pending) == (1_500, "", False)


@pytest.mark.parametrize(
    ("previous_stop", "stop", "energy", "flags"),
    [
        (50_000, 12_500, 12_500, "start_zero_meter_reset"),
        (50_000, 61_000, 11_000, "start_from_previous_register"),
    ],
)
async def test_offline_2_0_1_start_of_zero_is_decided_from_evidence(
    csms_any: CsmsServer, previous_stop: int, stop: int, energy: int, flags: str
) -> None:
    operator_charger("CS-ZERO")
    set_max_power("CS-ZERO", 1, 22_000)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    async with RawChargePoint(url_of(csms_any), "CS-ZERO", subprotocols=V201) as cp:
        await cp.boot201()
        before = t0 - timedelta(hours=2)
        await cp.ok(
            "TransactionEvent",
            tx_event(
                "Started", "tx-a", 0, before, meter=[reg(previous_stop - 900, before, "Transaction.Begin")]
            ),
        )
        end_a = t0 - timedelta(hours=1)
        await cp.ok(
            "TransactionEvent",
            tx_event("Ended", "tx-a", 1, end_a, meter=[reg(previous_stop, end_a, "Transaction.End")]),
        )
        started = tx_event("Started", "tx-b", 0, t0, meter=[reg(0, t0, "Transaction.Begin")], offline=True)
        await cp.ok("TransactionEvent", started)
        end_b = t0 + timedelta(hours=1)
        await cp.ok(
            "TransactionEvent",
            tx_event("Ended", "tx-b", 1, end_b, meter=[reg(stop, end_b, "Transaction.End")], offline=True),
        )
    row = sessions()[-1]
    assert row.transaction_id.endswith(":tx-b") and row.meter_start_wh == 0
    assert (row.energy_wh, row.flags, row.review_pending) == (energy, flags, False)


# ---------------------------------------------------------------------- 2.0.1 delivery order
ORDERS = [
    ("Started", "Updated", "Ended"),
    ("Ended", "Started", "Updated"),
    ("Ended", "Updated", "Started"),
    ("Updated", "Ended", "Started"),
    ("Started", "Ended", "Updated"),
    ("Updated", "Started", "Ended"),
]


def transaction_messages(tx: str, t0: datetime, begin_context: str | None) -> dict[str, dict[str, Any]]:
    t1, t2 = t0 + timedelta(minutes=20), t0 + timedelta(minutes=45)
    return {
        "Started": tx_event("Started", tx, 0, t0, token="RFID-1", meter=[reg(10_000, t0, begin_context)]),
        "Updated": tx_event(
            "Updated", tx, 1, t1, meter=[reg(14_000, t1), reg(14_500, t1 + timedelta(minutes=5))]
        ),
        "Ended": tx_event("Ended", tx, 2, t2, meter=[reg(18_000, t2, "Transaction.End")]),
    }


def outcome(row: ChargingSession) -> tuple[Any, ...]:
    return (
        row.start_utc,
        row.end_utc,
        row.meter_start_wh,
        row.meter_stop_wh,
        row.energy_wh,
        row.flags,
        row.reason,
    )


@pytest.mark.parametrize("begin_context", ["Transaction.Begin", None])
async def test_2_0_1_messages_in_any_order_end_at_the_same_session(
    csms_any: CsmsServer, begin_context: str | None
) -> None:
    operator_charger("CS-ORDER")
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    async with RawChargePoint(url_of(csms_any), "CS-ORDER", subprotocols=V201) as cp:
        await cp.boot201()
        for number, order in enumerate(ORDERS):
            t0 = base + timedelta(hours=number)
            messages = transaction_messages(f"tx-{number}", t0, begin_context)
            for kind in order:
                await cp.ok("TransactionEvent", messages[kind])
    rows = sessions()
    assert len(rows) == len(ORDERS)
    in_order = outcome(rows[0])
    assert in_order[2:] == (10_000, 18_000, 8_000, "", "Local")
    assert in_order[0] == base and in_order[1] == base + timedelta(minutes=45)
    for number, row in enumerate(rows):
        shifted = (
            row.start_utc - timedelta(hours=number),
            row.end_utc - timedelta(hours=number),
            *outcome(row)[2:],
        )
        assert shifted == in_order, ORDERS[number]
        assert row.id_tag == "RFID-1" and row.connector_id == 1


async def test_2_0_1_started_without_context_is_the_start_reading(csms: CsmsServer) -> None:
    operator_charger("CS-CTX")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    async with RawChargePoint(url_of(csms), "CS-CTX", subprotocols=V201) as cp:
        await cp.boot201()
        await cp.ok("TransactionEvent", tx_event("Started", "tx-c", 0, t0, meter=[reg(7_250, t0)]))
        mid = t0 + timedelta(minutes=10)
        await cp.ok("TransactionEvent", tx_event("Updated", "tx-c", 1, mid, meter=[reg(8_000, mid)]))
        [row] = sessions()
        assert row.meter_start_wh == 7_250 and row.energy_wh == 750  # open: energy so far
        end = t0 + timedelta(minutes=20)
        await cp.ok("TransactionEvent", tx_event("Ended", "tx-c", 2, end, meter=[reg(9_000, end)]))
    [row] = sessions()
    assert (row.meter_start_wh, row.meter_stop_wh, row.energy_wh) == (7_250, 9_000, 1_750)


# ---------------------------------------------------------------------- retries under new message ids
async def test_2_0_1_transaction_event_retried_with_a_new_id_stores_readings_once(
    csms_any: CsmsServer,
) -> None:
    operator_charger("CS-RETRY")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    async with RawChargePoint(url_of(csms_any), "CS-RETRY", subprotocols=V201) as cp:
        await cp.boot201()
        await cp.ok(
            "TransactionEvent",
            tx_event("Started", "tx-r", 0, t0, meter=[reg(1_000, t0, "Transaction.Begin")]),
        )
        t1 = t0 + timedelta(minutes=5)
        three = [reg(1_200, t1), reg(1_400, t1 + timedelta(minutes=1)), reg(1_400, t1, "Sample.Clock")]
        updated = tx_event("Updated", "tx-r", 1, t1, meter=three)
        await cp.ok("TransactionEvent", updated, unique_id="first-try")
        await cp.ok("TransactionEvent", updated, unique_id="second-try")
        await cp.ok("TransactionEvent", updated, unique_id="third-try")
    [row] = sessions()
    with session_scope() as s:
        stored = s.exec(select(MeterValue).where(MeterValue.session_id == row.id)).all()
    assert len(stored) == 4  # the Begin reading and the three unique ones of the Updated event
    assert row.energy_wh == 400


async def test_1_6_meter_values_and_stop_retried_with_new_ids_store_readings_once(
    csms_any: CsmsServer,
) -> None:
    operator_charger("CP-RETRY")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    async with RawChargePoint(url_of(csms_any), "CP-RETRY") as cp:
        await cp.boot16()
        tx = (
            await cp.ok(
                "StartTransaction", {"connectorId": 1, "idTag": "X", "meterStart": 100, "timestamp": iso(t0)}
            )
        )["transactionId"]
        body = {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [
                sample16(200, t0 + timedelta(minutes=1)),
                {
                    "timestamp": iso(t0 + timedelta(minutes=1)),
                    "sampledValue": [
                        {"value": "230", "measurand": "Voltage", "phase": "L1", "unit": "V"},
                        {"value": "231", "measurand": "Voltage", "phase": "L2", "unit": "V"},
                        {"value": "30", "measurand": "Temperature", "location": "Body", "unit": "Celsius"},
                        {"value": "35", "measurand": "Temperature", "location": "Outlet", "unit": "Celsius"},
                    ],
                },
            ],
        }
        for attempt in range(3):
            await cp.ok("MeterValues", body, unique_id=f"mv-{attempt}")
        stop = {
            "transactionId": tx,
            "meterStop": 400,
            "timestamp": iso(t0 + timedelta(minutes=3)),
            "transactionData": [sample16(300, t0 + timedelta(minutes=2))],
        }
        for attempt in range(2):
            await cp.ok("StopTransaction", stop, unique_id=f"stop-{attempt}")
    [row] = sessions()
    with session_scope() as s:
        stored = s.exec(select(MeterValue).where(MeterValue.session_id == row.id)).all()
    # 200 Wh, two phases' voltages, two locations' temperatures, and the 300 Wh of transactionData.
    assert len(stored) == 6 and row.energy_wh == 300


# ---------------------------------------------------------------------- impossible energy
async def test_forty_seconds_of_300_kwh_is_flagged_not_billed_silently(csms_any: CsmsServer) -> None:
    operator_charger("CP-IMPOSSIBLE")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    async with RawChargePoint(url_of(csms_any), "CP-IMPOSSIBLE") as cp:
        await cp.boot16()
        tx = (
            await cp.ok(
                "StartTransaction",
                {"connectorId": 1, "idTag": "X", "meterStart": 1_000, "timestamp": iso(t0)},
            )
        )["transactionId"]
        stop = {"transactionId": tx, "meterStop": 300_763, "timestamp": iso(t0 + timedelta(seconds=40))}
        await cp.ok("StopTransaction", stop)
    [row] = sessions()
    assert row.energy_wh == 299_763  # the charger's figure is kept...
    assert "energy_exceeds_max_power" in row.flags.split(",") and row.review_pending  # ...and held


@pytest.mark.parametrize(
    ("values", "flag"),
    [
        ([1_200, 1_100, 1_300], "register_backwards"),
        ([1_200, -50, 1_300], "negative_register"),
        ([1_200, 95_000, 95_100], "register_jump"),
    ],
)
async def test_2_0_1_bad_registers_are_flagged(csms: CsmsServer, values: list[int], flag: str) -> None:
    operator_charger("CS-BAD")
    set_max_power("CS-BAD", 1, 11_000)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    async with RawChargePoint(url_of(csms), "CS-BAD", subprotocols=V201) as cp:
        await cp.boot201()
        await cp.ok(
            "TransactionEvent",
            tx_event("Started", "tx-bad", 0, t0, meter=[reg(1_000, t0, "Transaction.Begin")]),
        )
        for seq, value in enumerate(values, start=1):
            at = t0 + timedelta(minutes=5 * seq)
            await cp.ok("TransactionEvent", tx_event("Updated", "tx-bad", seq, at, meter=[reg(value, at)]))
        end = t0 + timedelta(minutes=25)
        await cp.ok(
            "TransactionEvent",
            tx_event("Ended", "tx-bad", 9, end, meter=[reg(values[-1], end, "Transaction.End")]),
        )
    [row] = sessions()
    assert flag in row.flags.split(",") and row.review_pending
    assert row.energy_wh == values[-1] - 1_000


@pytest.mark.parametrize(("max_limit", "flagged"), [(11_000, True), (22_000, False), ("lots", False)])
async def test_2_0_1_evse_power_from_the_device_model_bounds_the_energy(
    csms: CsmsServer, max_limit: object, flagged: bool
) -> None:
    """15 kWh in one hour: impossible on an 11 kW EVSE (its NotifyReport says so), fine on 22 kW, and a
    report that is not a number leaves the 350 kW default."""
    operator_charger("CS-POWER")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    power = {
        "component": {"name": "EVSE", "evse": {"id": 1}},
        "variable": {"name": "Power"},
        "variableAttribute": [{"type": "Actual", "value": "0"}],
        "variableCharacteristics": {
            "unit": "W",
            "dataType": "decimal",
            "maxLimit": max_limit,
            "supportsMonitoring": False,
        },
    }
    report = {"requestId": 7, "generatedAt": iso(t0), "seqNo": 0, "reportData": [power]}
    async with RawChargePoint(url_of(csms), "CS-POWER", subprotocols=V201) as cp:
        await cp.boot201()
        answer = await cp.call("NotifyReport", report)
        if isinstance(max_limit, str):
            assert answer[0] == 4  # maxLimit must be a number: refused by the schema, nothing stored
        else:
            assert answer[0] == 3
        await cp.ok(
            "TransactionEvent",
            tx_event("Started", "tx-p", 0, t0, meter=[reg(5_000, t0, "Transaction.Begin")]),
        )
        end = t0 + timedelta(hours=1)
        await cp.ok(
            "TransactionEvent", tx_event("Ended", "tx-p", 1, end, meter=[reg(20_000, end, "Transaction.End")])
        )
    [row] = sessions()
    assert row.energy_wh == 15_000
    assert ("energy_exceeds_max_power" in row.flags.split(",")) is flagged and row.review_pending is flagged
