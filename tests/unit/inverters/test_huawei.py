"""Huawei specifics: one session per account, token reuse, 30-minute renewal, login budget, failCodes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from pipelet_app.inverters.base import InvalidCredentials, Throttled
from pipelet_app.inverters.huawei import HuaweiAdapter, reset_sessions
from tests.fakes.inverters.huawei import SERIAL, SYSTEM_CODE, USER, HuaweiFake

CREDS = {"userName": USER, "systemCode": SYSTEM_CODE}


@pytest.fixture
def fake() -> Iterator[HuaweiFake]:
    reset_sessions()
    with HuaweiFake() as server:
        yield server
    reset_sessions()


def adapter(fake: HuaweiFake, credentials: dict | None = None) -> HuaweiAdapter:
    return HuaweiAdapter(dict(credentials or CREDS), base_url=fake.base_url, clock=fake.clock.now)


def logins(fake: HuaweiFake) -> int:
    return fake.paths().count("/thirdData/login")


async def test_token_is_reused_across_polls_and_processes(fake: HuaweiFake) -> None:
    async with adapter(fake) as a:
        await a.list_systems()
        stored = a.credentials
    assert a.credentials_changed and stored["xsrf_token"] == fake.token
    async with adapter(fake) as b:
        await b.list_systems()
    reset_sessions()  # another worker process: only the stored credentials carry the token
    async with adapter(fake, stored) as c:
        await c.list_systems()
    assert logins(fake) == 1


async def test_concurrent_polls_of_one_account_log_in_once(fake: HuaweiFake) -> None:
    a, b = adapter(fake), adapter(fake)
    async with a, b:
        results = await asyncio.gather(a.list_systems(), b.list_systems(), a.discover(), b.discover())
    assert all(results)
    assert logins(fake) == 1


async def test_renews_before_thirty_minutes_without_a_305(fake: HuaweiFake) -> None:
    async with adapter(fake) as a:
        await a.list_systems()
        fake.clock.advance(26 * 60)
        await a.list_systems()
    assert logins(fake) == 2
    assert fake.paths() == [
        "/thirdData/login",
        "/thirdData/stations",
        "/thirdData/login",
        "/thirdData/stations",
    ]


async def test_session_killed_elsewhere_is_renewed_once(fake: HuaweiFake) -> None:
    async with adapter(fake) as a:
        await a.list_systems()
        fake.expire_tokens()  # e.g. the installer logged in with the same account
        systems = await a.list_systems()
    assert len(systems) == 2
    assert logins(fake) == 2


async def test_sixth_login_in_ten_minutes_is_not_attempted(fake: HuaweiFake) -> None:
    async with adapter(fake) as a:
        for _ in range(5):
            a._account.token = None  # as if every session had been killed
            await a.test_credentials()
            fake.clock.advance(30)
        before = logins(fake)
        a._account.token = None
        with pytest.raises(Throttled) as caught:
            await a.test_credentials()
    assert logins(fake) == before == 5
    assert 400 <= caught.value.retry_after_s <= 600


async def test_realtime_kpis_more_often_than_five_minutes_are_throttled(fake: HuaweiFake) -> None:
    async with adapter(fake) as a:
        system, box = (await a.discover())[0]
        await a.fetch_snapshot(system, box)
        fake.clock.advance(60)
        with pytest.raises(Throttled) as caught:
            await a.fetch_snapshot(system, box)
    assert caught.value.retry_after_s == 300
    assert box.serial == SERIAL and box.device_id != SERIAL


async def test_power_status_and_session_signal_fallback(fake: HuaweiFake) -> None:
    fake.report_lifetime = False
    fake.kpi_interval_s = 0
    async with adapter(fake) as a:
        system, box = (await a.discover())[0]
        values = []
        for power in (7_400, 11_000):
            fake.wallbox.start(power)
            fake.wallbox.advance(1_800)
            snap = await a.fetch_snapshot(system, box)
            assert snap.power_w == power and snap.status == "Charging"
            fake.wallbox.advance(1_800)
            fake.wallbox.stop()
            values.append((await a.fetch_snapshot(system, box)).lifetime_wh)
    total = sum(s.energy_wh for s in fake.wallbox.sessions)
    assert values[-1] == pytest.approx(total, abs=2)
    assert values[0] < values[1]


async def test_a_cached_session_never_vouches_for_a_wrong_system_code(fake: HuaweiFake) -> None:
    async with adapter(fake) as good:
        await good.test_credentials()
    async with adapter(fake, {"userName": USER, "systemCode": "guessed-code"}) as bad:
        with pytest.raises(InvalidCredentials):
            await bad.test_credentials()
        with pytest.raises(InvalidCredentials):
            await bad.list_systems()
