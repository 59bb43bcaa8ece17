"""Fronius specifics: live power/status, and a charger that only reports energy since plug-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipelet_app.inverters.fronius import FroniusAdapter
from tests.fakes.inverters.fronius import KEY_ID, KEY_VALUE, SERIAL, FroniusFake


@pytest.fixture
def fake() -> Iterator[FroniusFake]:
    with FroniusFake() as server:
        yield server


def adapter(fake: FroniusFake, state: dict | None = None) -> FroniusAdapter:
    creds = {"access_key_id": KEY_ID, "access_key_value": KEY_VALUE}
    return FroniusAdapter(creds, base_url=fake.base_url, clock=fake.clock.now, state=state)


async def test_power_status_and_kwh_lifetime(fake: FroniusFake) -> None:
    async with adapter(fake) as a:
        system, box = (await a.discover())[0]
        fake.wallbox.start(11_000)
        fake.wallbox.advance(600)
        snap = await a.fetch_snapshot(system, box)
    assert box.serial == SERIAL and box.device_id != SERIAL
    assert snap.power_w == 11_000
    assert snap.status == "Charging"
    assert snap.lifetime_wh == pytest.approx(fake.wallbox.lifetime_wh, abs=0.1)
    assert snap.time_utc == fake.clock.now()


async def test_per_plug_in_counter_becomes_a_running_lifetime(fake: FroniusFake) -> None:
    fake.lifetime_channel = False
    state: dict = {}
    values = []
    async with adapter(fake) as a:
        system, box = (await a.discover())[0]
    for power in (7_000, 3_500):
        fake.wallbox.start(power)
        for _ in range(3):
            fake.wallbox.advance(1_200)
            async with adapter(fake, state) as a:
                values.append((await a.fetch_snapshot(system, box)).lifetime_wh)
        fake.wallbox.stop()
    assert values == sorted(values)
    energy = sum(s.energy_wh for s in fake.wallbox.sessions)
    assert values[-1] == pytest.approx(energy, abs=0.2)


async def test_a_cloud_ignoring_the_page_parameter_cannot_loop_forever(fake: FroniusFake) -> None:
    from tests.fakes.inverters._server import FakeResponse

    page = {"pvSystems": [{"pvSystemId": "same", "name": "again"}], "links": {"next": "…always"}}
    fake.systems = lambda req: FakeResponse(200, page)  # type: ignore[method-assign]
    fake._routes.clear()
    fake.setup_routes()
    async with adapter(fake) as a:
        systems = await a.list_systems()
    assert len(systems) == 50
