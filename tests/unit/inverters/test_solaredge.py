"""SolarEdge specifics: site-local meter times, kWh meters, throttle default, key never in messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pipelet_app.inverters.base import BrandUnavailable, Throttled
from pipelet_app.inverters.solaredge import SolarEdgeAdapter
from tests.fakes.inverters.solaredge import API_KEY, SERIAL, SolarEdgeFake


@pytest.fixture
def fake() -> Iterator[SolarEdgeFake]:
    with SolarEdgeFake(start=datetime(2026, 6, 1, 6, 7, tzinfo=UTC)) as server:
        yield server


def adapter(fake: SolarEdgeFake) -> SolarEdgeAdapter:
    return SolarEdgeAdapter({"api_key": API_KEY}, base_url=fake.base_url, clock=fake.clock.now)


async def test_snapshot_time_is_the_newest_quarter_in_utc(fake: SolarEdgeFake) -> None:
    async with adapter(fake) as a:
        system, box = (await a.discover())[0]
        fake.wallbox.charge(minutes=40, power_w=6000)
        snap = await a.fetch_snapshot(system, box)
    # clock: 06:47 UTC = 08:47 Amsterdam → newest quarter 08:45 local = 06:45 UTC
    assert snap.time_utc == datetime(2026, 6, 1, 6, 45, tzinfo=UTC)
    assert snap.lifetime_wh == pytest.approx(fake.wallbox.lifetime_at(snap.time_utc), abs=0.1)
    assert snap.power_w is None and box.serial == SERIAL
    assert all(r.query["api_key"] == API_KEY for r in fake.requests)


async def test_kwh_meters_are_converted(fake: SolarEdgeFake) -> None:
    async with adapter(fake) as a:
        system, box = (await a.discover())[0]
        fake.meter_unit = "kWh"
        snap = await a.fetch_snapshot(system, box)
    assert snap.lifetime_wh == pytest.approx(fake.wallbox.lifetime_wh, abs=0.5)


async def test_throttle_without_header_waits_fifteen_minutes(fake: SolarEdgeFake) -> None:
    async with adapter(fake) as a:
        fake.inject("throttle")
        with pytest.raises(Throttled) as caught:
            await a.list_systems()
    assert caught.value.retry_after_s == 900
    assert API_KEY not in str(caught.value)


async def test_charger_without_meter_says_what_to_check(fake: SolarEdgeFake) -> None:
    async with adapter(fake) as a:
        systems = await a.list_systems()
        empty = systems[1]
        from pipelet_app.inverters.base import Wallbox

        with pytest.raises(BrandUnavailable, match="meter"):
            await a.fetch_snapshot(empty, Wallbox(empty.system_id, "X", "X"))
