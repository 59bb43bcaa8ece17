"""OCPP 1.6 Core against a raw-JSON charge point: sessions, authorization, meter values, status history.

Test names carry the official CSMS test-case ids (see shared/reference/ocpp.md) where one applies.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from csms_helpers import add_charger, add_tenant, add_token, set_max_power
from rawcp import RawChargePoint, utc_now
from sqlmodel import col, select

from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    ChargingSession,
    Connector,
    ConnectorStatusPeriod,
    IdTokenStatus,
    MeterValue,
    OcppMessage,
    SessionSource,
    TenantKind,
)
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.ocpp.transactions import STALE_REASON


def url(server: CsmsServer) -> str:
    return f"ws://127.0.0.1:{server.port}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sessions() -> list[ChargingSession]:
    with session_scope() as s:
        return list(s.exec(select(ChargingSession).order_by(col(ChargingSession.id))).all())


def setup_operator(cp_id: str = "CP-1") -> int:
    tenant = add_tenant("op-" + cp_id.lower())
    add_charger(cp_id, tenant_id=tenant)
    add_token(tenant, "TAG-OK", parent_id_tag="FLEET-PARENT")
    add_token(tenant, "TAG-BLOCKED", IdTokenStatus.BLOCKED)
    add_token(tenant, "TAG-OLD", expires_at=datetime.now(UTC) - timedelta(days=1))
    add_token(tenant, "TAG-FUTURE", expires_at=datetime.now(UTC) + timedelta(days=30))
    return tenant


def status(connector: int, value: str, error: str = "NoError", at: str | None = None) -> dict:
    return {"connectorId": connector, "status": value, "errorCode": error, "timestamp": at or utc_now()}


def meter(value: float, unit: str = "Wh", at: str | None = None, context: str = "Sample.Periodic") -> dict:
    return {
        "timestamp": at or utc_now(),
        "sampledValue": [
            {
                "value": str(value),
                "unit": unit,
                "measurand": "Energy.Active.Import.Register",
                "context": context,
            },
            {"value": "7200", "unit": "W", "measurand": "Power.Active.Import"},
        ],
    }


async def test_tc_003_regular_charging_session(csms_any: CsmsServer) -> None:
    setup_operator()
    async with RawChargePoint(url(csms_any), "CP-1") as cp:
        await cp.boot16()
        await cp.ok("StatusNotification", status(1, "Preparing"))
        assert (await cp.ok("Authorize", {"idTag": "TAG-OK"}))["idTagInfo"]["status"] == "Accepted"
        start = await cp.ok(
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG-OK", "meterStart": 1000, "timestamp": utc_now()},
        )
        assert start["idTagInfo"] == {"status": "Accepted", "parentIdTag": "FLEET-PARENT"}
        tx = start["transactionId"]
        assert isinstance(tx, int)
        await cp.ok("StatusNotification", status(1, "Charging"))
        await cp.ok("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [meter(3500)]})
        live = sessions()[0]
        assert live.end_utc is None and live.energy_wh == 2500  # live energy while charging
        stop = await cp.ok(
            "StopTransaction",
            {
                "transactionId": tx,
                "meterStop": 8500,
                "timestamp": utc_now(),
                "idTag": "TAG-OK",
                "reason": "EVDisconnected",
            },
        )
        assert stop["idTagInfo"]["status"] == "Accepted"
        await cp.ok("StatusNotification", status(1, "Finishing"))
    [row] = sessions()
    assert row.source == SessionSource.OCPP_WALLBOX
    assert row.station_id == "CP-1" and row.id_tag == "TAG-OK" and row.connector_id == 1
    assert row.transaction_id == f"ocpp16:CP-1:{tx}"
    assert row.energy_wh == 7500 and row.reason == "EVDisconnected" and row.end_utc is not None
    with session_scope() as s:
        values = s.exec(select(MeterValue).where(MeterValue.session_id == row.id)).all()
        assert {(v.measurand, v.value, v.unit) for v in values} == {
            ("Energy.Active.Import.Register", 3500, "Wh"),
            ("Power.Active.Import", 7200, "W"),
        }
        assert all(v.transaction_id == row.transaction_id for v in values)


async def test_tc_023_authorize_invalid_expired_blocked(csms: CsmsServer) -> None:
    setup_operator()
    async with RawChargePoint(url(csms), "CP-1") as cp:
        await cp.boot16()

        async def auth(tag: str) -> dict:
            return (await cp.ok("Authorize", {"idTag": tag}))["idTagInfo"]

        assert (await auth("NOBODY"))["status"] == "Invalid"  # TC_023_1
        assert (await auth("TAG-OLD"))["status"] == "Expired"  # TC_023_2
        assert (await auth("TAG-BLOCKED"))["status"] == "Blocked"  # TC_023_3
        future = await auth("TAG-FUTURE")
        assert future["status"] == "Accepted" and future["expiryDate"].endswith("Z")


async def test_token_ownership_between_tenants(csms: CsmsServer) -> None:
    mine = add_tenant("op-a")
    other_operator = add_tenant("op-b")
    fleet = add_tenant("fleet-x", TenantKind.FLEET)
    add_charger("CP-T", tenant_id=mine)
    add_token(other_operator, "FOREIGN")
    add_token(fleet, "FLEET-CARD")
    async with RawChargePoint(url(csms), "CP-T") as cp:
        await cp.boot16()
        assert (await cp.ok("Authorize", {"idTag": "FOREIGN"}))["idTagInfo"]["status"] == "Invalid"
        assert (await cp.ok("Authorize", {"idTag": "FLEET-CARD"}))["idTagInfo"]["status"] == "Accepted"


async def test_retried_messages_are_not_applied_twice(csms_any: CsmsServer) -> None:
    setup_operator()
    async with RawChargePoint(url(csms_any), "CP-1") as cp:
        await cp.boot16()
        body = {"connectorId": 1, "idTag": "TAG-OK", "meterStart": 0, "timestamp": utc_now()}
        first = await cp.ok("StartTransaction", body, unique_id="start-1")
        again = await cp.ok("StartTransaction", body, unique_id="start-1")  # same frame re-sent
        other_id = await cp.ok("StartTransaction", body, unique_id="start-1b")  # re-sent after reconnect
        assert first == again and first["transactionId"] == other_id["transactionId"]
        mv = {"connectorId": 1, "transactionId": first["transactionId"], "meterValue": [meter(500)]}
        await cp.ok("MeterValues", mv, unique_id="mv-1")
        await cp.ok("MeterValues", mv, unique_id="mv-1")
        stop = {"transactionId": first["transactionId"], "meterStop": 900, "timestamp": utc_now()}
        await cp.ok("StopTransaction", stop, unique_id="stop-1")
        await cp.ok("StopTransaction", stop, unique_id="stop-1")
        await cp.ok("StopTransaction", {**stop, "meterStop": 950}, unique_id="stop-2")  # late duplicate stop
    [row] = sessions()
    assert row.energy_wh == 900 and row.meter_stop_wh == 900 and row.reason == "Local"
    with session_scope() as s:
        assert len(s.exec(select(MeterValue).where(MeterValue.session_id == row.id)).all()) == 2
        logged = s.exec(select(OcppMessage).where(OcppMessage.unique_id == "start-1")).all()
        assert len(logged) == 1 and logged[0].response is not None


async def test_tc_032_1_power_failure_boot_then_queued_stop(csms_any: CsmsServer) -> None:
    setup_operator()
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    async with RawChargePoint(url(csms_any), "CP-1") as cp:
        await cp.boot16()
        start = await cp.ok(
            "StartTransaction", {"connectorId": 1, "idTag": "TAG-OK", "meterStart": 100, "timestamp": iso(t0)}
        )
        tx = start["transactionId"]
        await cp.ok(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": tx,
                "meterValue": [meter(1100, at=iso(t0 + timedelta(minutes=10)))],
            },
        )
    # Power failure: the charger boots again without having stopped the transaction.
    async with RawChargePoint(url(csms_any), "CP-1") as cp:
        await cp.boot16()
        [stale] = sessions()
        assert stale.reason == STALE_REASON and stale.end_utc is not None
        assert stale.energy_wh == 1000  # up to the last sample
        assert stale.end_utc == t0.replace(microsecond=0) + timedelta(minutes=10)
        # The StopTransaction queued during the outage arrives after the boot.
        await cp.ok(
            "StopTransaction",
            {
                "transactionId": tx,
                "meterStop": 1600,
                "timestamp": iso(t0 + timedelta(minutes=20)),
                "reason": "PowerLoss",
            },
        )
    [row] = sessions()
    assert row.reason == "PowerLoss" and row.energy_wh == 1500


async def test_offline_start_with_zero_meter_does_not_bill_lifetime(csms: CsmsServer) -> None:
    setup_operator()
    set_max_power("CP-1", 1, 22_000)  # 56 kWh in an hour is impossible here: the meter was not reset
    t0 = datetime.now(UTC) - timedelta(hours=3)
    async with RawChargePoint(url(csms), "CP-1") as cp:
        await cp.boot16()
        # Earlier session: register ends at 50 000 Wh.
        first = await cp.ok(
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG-OK", "meterStart": 40000, "timestamp": iso(t0)},
        )
        await cp.ok(
            "StopTransaction",
            {
                "transactionId": first["transactionId"],
                "meterStop": 50000,
                "timestamp": iso(t0 + timedelta(hours=1)),
            },
        )
        # Offline start, delivered an hour late, with a meter that read 0.
        late = await cp.ok(
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG-OK", "meterStart": 0, "timestamp": iso(t0 + timedelta(hours=2))},
        )
        await cp.ok(
            "StopTransaction",
            {"transactionId": late["transactionId"], "meterStop": 56000, "timestamp": utc_now()},
        )
    rows = sessions()
    assert rows[1].started_offline and rows[1].energy_wh == 6000  # not 56 000
    assert rows[1].meter_start_wh == 0  # the charger's reading is kept; the start was decided from it
    assert rows[1].flags == "start_from_previous_register" and not rows[1].review_pending


async def test_new_start_on_busy_connector_closes_the_lost_session(csms: CsmsServer) -> None:
    setup_operator()
    async with RawChargePoint(url(csms), "CP-1") as cp:
        await cp.boot16()
        base = {"connectorId": 1, "idTag": "TAG-OK"}
        await cp.ok("StartTransaction", {**base, "meterStart": 10, "timestamp": utc_now()})
        await cp.ok("StartTransaction", {**base, "meterStart": 20, "timestamp": utc_now()})
    first, second = sessions()
    assert first.end_utc is not None and first.reason.startswith("Stale")
    assert second.end_utc is None


async def test_status_and_fault_history_per_connector(csms: CsmsServer) -> None:
    setup_operator()
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    async with RawChargePoint(url(csms), "CP-1") as cp:
        await cp.boot16()
        await cp.ok("StatusNotification", status(1, "Available", at=iso(t0)))
        await cp.ok(
            "StatusNotification", status(1, "Available", at=iso(t0 + timedelta(seconds=30)))
        )  # repeat
        await cp.ok(
            "StatusNotification", status(1, "Faulted", "GroundFailure", at=iso(t0 + timedelta(minutes=1)))
        )
        await cp.ok("StatusNotification", status(1, "Available", at=iso(t0 + timedelta(minutes=4))))
        await cp.ok("StatusNotification", status(0, "Available", at=iso(t0)))
    with session_scope() as s:
        periods = s.exec(
            select(ConnectorStatusPeriod)
            .where(ConnectorStatusPeriod.connector_id == 1)
            .order_by(col(ConnectorStatusPeriod.started_at))
        ).all()
        assert [(p.status, p.error_code, p.duration_s) for p in periods] == [
            ("Available", "NoError", 60.0),
            ("Faulted", "GroundFailure", 180.0),
            ("Available", "NoError", None),
        ]
        connectors = {c.connector_id: c.status for c in s.exec(select(Connector)).all()}
        assert connectors == {0: "Available", 1: "Available"}


async def test_meter_values_in_kwh_are_stored_in_wh(csms: CsmsServer) -> None:
    setup_operator()
    async with RawChargePoint(url(csms), "CP-1") as cp:
        await cp.boot16()
        await cp.ok("MeterValues", {"connectorId": 1, "meterValue": [meter(12.5, unit="kWh")]})
    with session_scope() as s:
        register = s.exec(
            select(MeterValue).where(MeterValue.measurand == "Energy.Active.Import.Register")
        ).one()
        assert register.value == 12500 and register.unit == "Wh" and register.session_id is None


async def test_security_event_and_data_transfer(csms: CsmsServer) -> None:
    setup_operator()
    async with RawChargePoint(url(csms), "CP-1") as cp:
        await cp.boot16()
        assert (await cp.ok("DataTransfer", {"vendorId": "com.example"}))[
            "status"
        ] == "UnknownVendorId"  # TC_064
        await cp.ok("SecurityEventNotification", {"type": "TamperDetectionActivated", "timestamp": utc_now()})
        await cp.ok("FirmwareStatusNotification", {"status": "Installed"})
        await cp.ok("DiagnosticsStatusNotification", {"status": "Uploaded"})
    from pipelet_app.db.models import DeviceVariable, SecurityEvent

    with session_scope() as s:
        event = s.exec(select(SecurityEvent)).one()
        assert event.event_type == "TamperDetectionActivated" and event.source == "charger"
        status = select(DeviceVariable).where(DeviceVariable.component == "CSMS.Status")
        values = {v.variable: v.value for v in s.exec(status).all()}
        assert values == {"FirmwareStatus": "Installed", "DiagnosticsStatus": "Uploaded"}


async def test_retry_after_reconnect_is_found_in_the_message_log(csms_any: CsmsServer) -> None:
    """The answer was lost with the socket; the charger re-sends on its new connection."""
    setup_operator()
    mv = {"connectorId": 1, "meterValue": [meter(777)]}
    async with RawChargePoint(url(csms_any), "CP-1") as cp:
        await cp.boot16()
        first = await cp.ok("MeterValues", mv, unique_id="mv-lost")
    async with RawChargePoint(url(csms_any), "CP-1") as cp:
        assert await cp.ok("MeterValues", mv, unique_id="mv-lost") == first
        await cp.ok("MeterValues", {**mv, "connectorId": 2}, unique_id="mv-lost")  # same id, new content
    with session_scope() as s:
        rows = s.exec(select(MeterValue).where(MeterValue.measurand == "Energy.Active.Import.Register")).all()
    assert sorted(r.connector_id for r in rows) == [1, 2]


async def test_operator_queries_show_detail_messages_and_faults(csms: CsmsServer) -> None:
    from pipelet_app.ocpp.queries import charger_detail, faults

    tenant = setup_operator()
    async with RawChargePoint(url(csms), "CP-1") as cp:
        await cp.boot16("ACME", "W22")
        await cp.ok("StatusNotification", status(1, "Faulted", "OverCurrentFailure"))
        await cp.ok(
            "StartTransaction", {"connectorId": 2, "idTag": "TAG-OK", "meterStart": 0, "timestamp": utc_now()}
        )
    with session_scope() as s:
        detail = charger_detail(s, "CP-1", tenant)
        assert charger_detail(s, "CP-1", tenant + 1000) is None  # another tenant's charger
        open_faults = faults(s, tenant)
        assert faults(s, tenant + 1000) == []
    assert detail is not None and detail["vendor"] == "ACME"
    assert [c["status"] for c in detail["connectors"]] == ["Faulted"]
    # (the CSMS's own question after the boot, GetConfiguration, is logged among them as "out")
    assert [m["action"] for m in detail["messages"] if m["direction"] == "in"][:3] == [
        "StartTransaction",
        "StatusNotification",
        "BootNotification",
    ]
    assert detail["sessions"][0]["connector_id"] == 2
    assert [(f["error_code"], f["open"]) for f in open_faults] == [("OverCurrentFailure", True)]


async def test_meter_values_without_transaction_id_follow_the_connector(csms_any: CsmsServer) -> None:
    """Idle readings stay unlinked, and the next session's readings without a transactionId still link
    to it: the CSMS remembers idle connectors per socket (see ChargePoint16), and a start forgets them."""
    setup_operator()

    def linked() -> list[tuple[int | None, float]]:
        with session_scope() as s:
            rows = s.exec(select(MeterValue).where(MeterValue.measurand == "Energy.Active.Import.Register"))
            return sorted(((v.session_id, v.value) for v in rows.all()), key=lambda r: (r[1], r[0] or 0))

    async with RawChargePoint(url(csms_any), "CP-1") as cp:
        await cp.boot16()
        await cp.ok("MeterValues", {"connectorId": 1, "meterValue": [meter(100)]})
        await cp.ok("MeterValues", {"connectorId": 1, "meterValue": [meter(100)]})
        start = await cp.ok(
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG-OK", "meterStart": 100, "timestamp": utc_now()},
        )
        await cp.ok("MeterValues", {"connectorId": 1, "meterValue": [meter(600)]})
        await cp.ok("MeterValues", {"connectorId": 2, "meterValue": [meter(50)]})  # the other connector idles
        stop = {"transactionId": start["transactionId"], "meterStop": 900, "timestamp": utc_now()}
        await cp.ok("StopTransaction", stop)
        await cp.ok("MeterValues", {"connectorId": 1, "meterValue": [meter(900)]})
    [session] = sessions()
    assert session.energy_wh == 800
    assert linked() == [(None, 50), (None, 100), (None, 100), (session.id, 600), (None, 900)]
    # A new socket learns afresh: a session left open by the old one is found again.
    async with RawChargePoint(url(csms_any), "CP-1") as cp:
        await cp.boot16()
        again = await cp.ok(
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG-OK", "meterStart": 900, "timestamp": utc_now()},
        )
    async with RawChargePoint(url(csms_any), "CP-1") as cp:
        await cp.ok("MeterValues", {"connectorId": 1, "meterValue": [meter(1400)]})
    assert (again["transactionId"], 1400) in linked()
