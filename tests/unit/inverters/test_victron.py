"""Victron specifics: password login and JWT renewal, interval integration without double counting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipelet_app.inverters.base import InvalidCredentials
from pipelet_app.inverters.victron import VictronAdapter
from tests.fakes.inverters.victron import ACCESS_TOKEN, PASSWORD, SERIAL, USERNAME, VictronFake


@pytest.fixture
def fake() -> Iterator[VictronFake]:
    with VictronFake() as server:
        yield server


def adapter(fake: VictronFake, credentials: dict, state: dict | None = None) -> VictronAdapter:
    return VictronAdapter(credentials, base_url=fake.base_url, clock=fake.clock.now, state=state)


async def test_password_login_and_renewal_on_401(fake: VictronFake) -> None:
    async with adapter(fake, {"username": USERNAME, "password": PASSWORD}) as a:
        system, box = (await a.discover())[0]
        assert a.credentials_changed and a.credentials["id_user"] == 22
        fake.expire_tokens()
        await a.fetch_snapshot(system, box)
    assert fake.paths().count("/v2/auth/login") == 2
    assert box.serial == SERIAL and box.device_id == "40"
    assert "/v2/users/me" not in fake.paths(), "the login answer already names the user"


async def test_wrong_password_is_invalid_credentials(fake: VictronFake) -> None:
    async with adapter(fake, {"username": USERNAME, "password": "wrong-pass"}) as a:
        with pytest.raises(InvalidCredentials) as caught:
            await a.test_credentials()
    assert "wrong-pass" not in str(caught.value)


async def test_interval_in_progress_is_counted_once_complete_and_once_only(fake: VictronFake) -> None:
    state: dict = {}
    creds = {"access_token": ACCESS_TOKEN}
    async with adapter(fake, creds, state) as a:
        system, box = (await a.discover())[0]
        first = await a.fetch_snapshot(system, box)
        fake.wallbox.start(6_000)
        fake.wallbox.advance(600)  # 10 minutes into a 15-minute interval
        mid = await a.fetch_snapshot(system, box)
        assert mid.lifetime_wh == first.lifetime_wh
        fake.wallbox.advance(300)  # interval complete
        done = await a.fetch_snapshot(system, box)
        again = await a.fetch_snapshot(system, box)
    assert done.lifetime_wh - first.lifetime_wh == pytest.approx(1_500, abs=0.5)
    assert again.lifetime_wh == done.lifetime_wh
    assert done.power_w == pytest.approx(6_000, abs=2)
    assert done.time_utc == fake.clock.now()
