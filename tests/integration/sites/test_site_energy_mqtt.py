"""From MQTT messages on the real Mosquitto broker (127.0.0.1:1883) and a charger on a real CSMS socket
to the stored site series and the measured `solar_wh` of the finished session, on SQLite and PostgreSQL;
bad messages refused with counted reasons; the consumer reconnecting by itself.

Sites get random high ids and assets random names, so other test runs on the shared broker cannot mix in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest
from prometheus_client import REGISTRY
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargerAuthMode,
    ChargingSession,
    IdToken,
    Site,
    SiteDevice,
    SiteEnergyMinute,
    SiteEvTransaction,
    Tenant,
    TenantKind,
)
from pipelet_app.db.types import utcnow
from pipelet_app.domain.site_energy import floor_minute
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.site_energy.consumer import Consumer
from pollers.site_energy import feed_ocpp_meter_values, settle_session_solar
from tests.integration.running_csms import running_csms

sys.path.insert(0, str(Path(__file__).parents[1] / "ocpp"))
from rawcp import RawChargePoint

from tests.pipelet_process import free_port

BROKER = ("127.0.0.1", 1883)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class Site_:
    def __init__(self) -> None:
        self.id = random.randint(10_000_000, 99_999_999)
        tag = uuid.uuid4().hex[:8]
        self.pv, self.grid, self.ev_mqtt, self.cp = f"pv-{tag}", f"grid-{tag}", f"wb-{tag}", f"CP-{tag}"
        self.topic = f"pipelet/sites/{self.id}"


@pytest.fixture
def site(database: str) -> Site_:
    s = Site_()
    with session_scope() as db:
        tenant = Tenant(name="Sun", slug=f"sun-{s.id}", kind=TenantKind.OPERATOR)
        db.add(tenant)
        db.flush()
        db.add(Site(id=s.id, tenant_id=tenant.id, name="Roof", has_pv_meter=True))
        db.flush()
        # Auth mode "none" (an operator's choice for chargers without Basic auth): identity is not
        # what this file tests.
        db.add(
            Charger(charge_point_id=s.cp, tenant_id=tenant.id, site_id=s.id, auth_mode=ChargerAuthMode.NONE)
        )
        db.add(IdToken(tenant_id=tenant.id, token="TAG-SUN"))
        db.add(SiteDevice(site_id=s.id, asset_id=s.pv, kind="pv"))
        db.add(SiteDevice(site_id=s.id, asset_id=s.grid, kind="grid"))
        db.add(SiteDevice(site_id=s.id, asset_id=s.ev_mqtt, kind="charger"))
        db.add(
            SiteDevice(
                site_id=s.id, asset_id=f"ocpp-{s.cp}", kind="charger", charge_point_id=s.cp, connector_id=1
            )
        )
    return s


@contextlib.asynccontextmanager
async def consuming(site: Site_, port: int = BROKER[1]) -> AsyncIterator[Consumer]:
    consumer = Consumer(f"mqtt://127.0.0.1:{port}", flush_s=0.1, topics=[f"{site.topic}/+"])
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(consumer.connected.wait(), 10)
    try:
        yield consumer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def publish(messages: list[tuple[str, object]], port: int = BROKER[1]) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        for topic, payload in messages:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            await client.publish(topic, body, qos=1)


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def measurement(asset: str, at: datetime, power: float, energy: float = 0.0, **extra: object) -> dict:
    return {"assetId": asset, "timestamp": iso(at), "energyValue": energy, "powerValue": power, **extra}


@pytest.fixture
async def csms(site: Site_) -> AsyncIterator[CsmsServer]:
    async with running_csms() as server:
        yield server


@pytest.mark.parametrize(
    "ago", [timedelta(minutes=20), timedelta(hours=23, minutes=30)], ids=["20min", "23h"]
)
async def test_mqtt_and_ocpp_to_series_and_solar_share(site: Site_, csms: CsmsServer, ago: timedelta) -> None:
    """`ago`: how long before now the session ran; 23 h 30 min is late data near the 24 h limit."""
    now = utcnow()
    t0 = floor_minute(now) - ago
    # A car draws 6 kW for 10 minutes on the OCPP charger (100 Wh a minute).
    async with RawChargePoint(f"ws://127.0.0.1:{csms.port}", site.cp) as cp:
        await cp.boot16()
        start = await cp.ok(
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG-SUN", "meterStart": 10_000, "timestamp": iso(t0)},
        )
        tx = start["transactionId"]
        for minute in range(10):
            at = t0 + timedelta(minutes=minute, seconds=30)
            sampled = [
                {
                    "measurand": "Energy.Active.Import.Register",
                    "unit": "Wh",
                    "value": str(10_050 + 100 * minute),
                },
                {"measurand": "Power.Active.Import", "unit": "W", "value": "6000"},
            ]
            await cp.ok(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": tx,
                    "meterValue": [{"timestamp": iso(at), "sampledValue": sampled}],
                },
            )
        await cp.ok(
            "StopTransaction",
            {"transactionId": tx, "meterStop": 11_000, "timestamp": iso(t0 + timedelta(minutes=10))},
        )

    # PV 6 kW and 2 kW imported: house = 6 + 2 - 6 (car) = 2 kW, so 4 of the car's 6 kW are solar.
    def site_minute(minute: int) -> list[tuple[str, dict]]:
        at = t0 + timedelta(minutes=minute, seconds=30)
        return [
            (f"{site.topic}/measurements", measurement(site.pv, at, 6000.0, 1e6 + 100 * minute)),
            (f"{site.topic}/measurements", measurement(site.grid, at, 2000.0, 5e5)),
        ]

    async with consuming(site) as consumer:
        await publish([m for minute in range(9) for m in site_minute(minute)])  # minute 9 comes late
        await until(lambda: consumer.stats["stored"] >= 18)
        assert feed_ocpp_meter_values(now=now) == 10
        assert settle_session_solar(now=now) == 1
        with session_scope() as db:
            session = db.exec(select(ChargingSession).where(ChargingSession.station_id == site.cp)).one()
            assert session.energy_wh == 1000
            assert session.solar_wh == pytest.approx(9 * 400 / 6, abs=0.01)  # 9 minutes x 66.67 Wh
            assert session.solar_estimated  # minute 9 had no site data
            rows = db.exec(select(SiteEnergyMinute).where(SiteEnergyMinute.site_id == site.id)).all()
            assert len(rows) == 10  # the car's minute 9 came from OCPP alone
            first = min(rows, key=lambda r: r.minute)
            assert (first.pv_w, first.grid_w, first.ev_w, first.load_w) == (6000, 2000, 6000, 2000)
            assert first.ev_solar_w == 4000

        await publish(site_minute(9))  # late data: recomputes the minute and the session
        await until(lambda: consumer.stats["stored"] >= 20)
        assert settle_session_solar(now=now) == 1
        assert settle_session_solar(now=now) == 0  # nothing dirty any more
        with session_scope() as db:
            session = db.exec(select(ChargingSession).where(ChargingSession.station_id == site.cp)).one()
            assert session.solar_wh == pytest.approx(10 * 400 / 6, abs=0.01)
            assert not session.solar_estimated
        assert consumer.stats["refused"] == 0


async def test_bad_messages_are_refused_with_a_reason_and_the_consumer_goes_on(site: Site_) -> None:
    now = utcnow()
    good = measurement(site.pv, now - timedelta(minutes=1), 3000.0)
    bad = {
        "missing-field": {k: v for k, v in good.items() if k != "powerValue"},
        "wrong-unit": {**good, "energyUnit": "kWh"},
        "unknown-asset": {**good, "assetId": "not-a-device"},
        "future-timestamp": {**good, "timestamp": iso(now + timedelta(minutes=10))},
        "too-late": {**good, "timestamp": iso(now - timedelta(hours=25))},
        "wrong-type": {**good, "powerValue": "3 kW"},
        "invalid-json": b"{not json",
        "bad-timestamp": {**good, "timestamp": "2026-06-01T10:00:00"},
    }
    counted_before = {reason: _refused_metric(reason) for reason in bad}
    async with consuming(site) as consumer:
        await publish([(f"{site.topic}/measurements", body) for body in bad.values()])
        await publish(
            [
                (f"{site.topic}/measurements", measurement(site.pv, now - timedelta(minutes=1), -5.0)),
                (f"{site.topic}/measurements", {**good, "currentStateOfCharge": 140}),
                (f"{site.topic}/transactions", {"assetId": site.pv, "transactionId": "t"}),
                (f"{site.topic}/transactions", {"assetId": site.ev_mqtt, "transactionId": "t1"}),
                (f"{site.topic}/measurements", good),
            ]
        )
        await until(lambda: consumer.stats["stored"] >= 1)
    for reason in bad:
        assert consumer.stats[f"refused:{reason}"] >= 1, (reason, consumer.stats)
    assert consumer.stats["refused:wrong-unit"] == 3  # kWh, negative PV, SoC 140 %
    assert consumer.stats["refused:wrong-asset"] == 1 and consumer.stats["refused:missing-field"] == 2
    assert consumer.stats["refused"] == len(bad) + 4 and consumer.stats["accepted"] == 1
    # The same counts are what /api/v1/metrics serves (pipelet_mqtt_refused_total{reason}).
    for reason in bad:
        assert _refused_metric(reason) - counted_before[reason] == consumer.stats[f"refused:{reason}"], reason
    with session_scope() as db:
        [row] = db.exec(select(SiteEnergyMinute).where(SiteEnergyMinute.site_id == site.id)).all()
        assert row.pv_w == 3000


async def test_transactions_get_default_profiles_and_older_messages_lose(site: Site_) -> None:
    now = utcnow()
    start = now - timedelta(minutes=30)
    base = {"assetId": site.ev_mqtt, "transactionId": "tx-1", "startTime": iso(start), "type": "ac"}
    async with consuming(site) as consumer:
        await publish(
            [
                (
                    f"{site.topic}/transactions",
                    {
                        **base,
                        "timestamp": iso(now),
                        "transactionState": "Updated",
                        "requestedMaxEnergy": 12000,
                    },
                ),
                (
                    f"{site.topic}/transactions",
                    {**base, "timestamp": iso(start), "transactionState": "Started"},
                ),
            ]
        )
        await until(lambda: consumer.stats["stored"] >= 2)
    with session_scope() as db:
        [tx] = db.exec(select(SiteEvTransaction).where(SiteEvTransaction.site_id == site.id)).all()
        assert tx.state == "Updated" and tx.requested_max_wh == 12000 and not tx.energy_defaulted
        assert tx.departure_utc == start + timedelta(hours=8) and tx.departure_defaulted


class DroppingProxy:
    """A loopback TCP proxy to the broker that can cut every connection, as a network outage would."""

    def __init__(self) -> None:
        self.port = free_port()
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*BROKER)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    async def stop(self) -> None:
        self.cut()
        self.server.close()


async def test_the_consumer_reconnects_by_itself(site: Site_) -> None:
    proxy = DroppingProxy()
    await proxy.start()
    try:
        async with consuming(site, port=proxy.port) as consumer:
            proxy.cut()
            await until(lambda: consumer.stats["connects"] >= 2, timeout=20)
            await asyncio.wait_for(consumer.connected.wait(), 10)
            await publish([(f"{site.topic}/measurements", measurement(site.pv, utcnow(), 1234.0))])
            await until(lambda: consumer.stats["stored"] >= 1)
        assert consumer.stats["disconnects"] >= 1
    finally:
        await proxy.stop()


def _refused_metric(reason: str) -> float:
    return REGISTRY.get_sample_value("pipelet_mqtt_refused_total", {"reason": reason}) or 0.0


async def _mosquitto(port: int) -> asyncio.subprocess.Process:
    broker = await asyncio.create_subprocess_exec(
        "mosquitto", "-p", str(port), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    for _ in range(100):
        with contextlib.suppress(OSError):
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return broker
        await asyncio.sleep(0.05)
    raise AssertionError(f"mosquitto did not listen on {port}")


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs the mosquitto binary")
async def test_the_consumer_comes_back_after_the_broker_restarts(site: Site_) -> None:
    """A broker of our own on a free port (the shared one on 1883 is not ours to stop): stopped while
    the consumer is connected, started again on the same port; the consumer reconnects and stores, and
    the metrics say so (pipelet_mqtt_connected, pipelet_mqtt_disconnects_total)."""
    port = free_port()
    broker = await _mosquitto(port)
    try:
        async with consuming(site, port=port) as consumer:
            disconnects = REGISTRY.get_sample_value("pipelet_mqtt_disconnects_total") or 0.0
            assert REGISTRY.get_sample_value("pipelet_mqtt_connected", {"broker": f"127.0.0.1:{port}"}) == 1
            broker.terminate()
            await broker.wait()
            await until(lambda: not consumer.connected.is_set(), timeout=20)
            assert REGISTRY.get_sample_value("pipelet_mqtt_connected", {"broker": f"127.0.0.1:{port}"}) == 0
            assert (REGISTRY.get_sample_value("pipelet_mqtt_disconnects_total") or 0.0) > disconnects
            await asyncio.sleep(1.5)  # a retry or two against the closed port
            broker = await _mosquitto(port)
            await asyncio.wait_for(consumer.connected.wait(), 45)  # back-off steps 0.5, 1, 2, 5, 10 s
            assert REGISTRY.get_sample_value("pipelet_mqtt_connected", {"broker": f"127.0.0.1:{port}"}) == 1
            await publish([(f"{site.topic}/measurements", measurement(site.pv, utcnow(), 2345.0))], port=port)
            await until(lambda: consumer.stats["stored"] >= 1)
        assert consumer.stats["connects"] >= 2
        with session_scope() as db:
            [row] = db.exec(select(SiteEnergyMinute).where(SiteEnergyMinute.site_id == site.id)).all()
            assert row.pv_w == 2345
    finally:
        if broker.returncode is None:
            broker.terminate()
            await broker.wait()


def test_refusals_are_logged_once_per_reason_and_minute(
    site: Site_, caplog: pytest.LogCaptureFixture
) -> None:
    consumer = Consumer("mqtt://127.0.0.1:1883", topics=[f"{site.topic}/+"])
    for _ in range(50):
        assert not consumer.accept(f"{site.topic}/measurements", b"{not json")
    consumer.accept(f"{site.topic}/measurements", json.dumps({"assetId": "nobody"}).encode())
    assert consumer.stats["refused:invalid-json"] == 50 and consumer.stats["refused:unknown-asset"] == 1
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 2 and "invalid-json, 1 so far" in lines[0] and "unknown-asset" in lines[1]
