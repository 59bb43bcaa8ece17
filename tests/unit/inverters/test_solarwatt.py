"""Solarwatt specifics: the manager URL from the credentials, session cookie reuse, power and mode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipelet_app.inverters.solarwatt import SolarwattAdapter
from tests.fakes.inverters.solarwatt import MANAGER_GUID, PASSWORD, SERIAL, USERNAME, SolarwattFake


@pytest.fixture
def fake() -> Iterator[SolarwattFake]:
    with SolarwattFake() as server:
        yield server


async def test_manager_url_cookie_reuse_and_live_values(fake: SolarwattFake) -> None:
    creds = {"manager_url": fake.base_url, "username": USERNAME, "password": PASSWORD}
    async with SolarwattAdapter(creds, clock=fake.clock.now) as a:
        assert a.base_url == fake.base_url
        [(system, box)] = await a.discover()
        stored = a.credentials
    assert system.system_id == MANAGER_GUID and system.name == "EnergyManager pro"
    assert box.serial == SERIAL and box.name == "Garage"
    fake.wallbox.start(3_700)
    fake.wallbox.advance(900)
    async with SolarwattAdapter(stored, clock=fake.clock.now) as b:
        snap = await b.fetch_snapshot(system, box)
        assert not b.credentials_changed
    assert fake.paths().count("/auth/login") == 1
    assert snap.power_w == 3_700 and snap.status == "CHARGING"
    assert snap.lifetime_wh == pytest.approx(fake.wallbox.lifetime_wh, abs=0.1)
