"""SMA specifics: token endpoint host, token reuse and renewal, Retry-After, session-counter fallback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipelet_app.inverters.base import Throttled
from pipelet_app.inverters.sma import OFFICIAL_TOKEN_URL, SmaAdapter
from tests.fakes.inverters.sma import CLIENT_ID, CLIENT_SECRET, SmaFake

CREDS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


@pytest.fixture
def fake() -> Iterator[SmaFake]:
    with SmaFake() as server:
        yield server


def adapter(fake: SmaFake, credentials: dict | None = None, state: dict | None = None) -> SmaAdapter:
    return SmaAdapter(dict(credentials or CREDS), base_url=fake.base_url, clock=fake.clock.now, state=state)


def test_token_url_follows_the_base() -> None:
    assert SmaAdapter(CREDS, base_url="https://monitoring.smaapis.de").token_url == OFFICIAL_TOKEN_URL
    assert SmaAdapter(CREDS, base_url="http://127.0.0.1:9/").token_url == "http://127.0.0.1:9/oauth2/token"
    assert SmaAdapter(CREDS, base_url="http://x", token_url="http://y/t").token_url == "http://y/t"


async def test_token_is_reused_then_renewed_before_expiry(fake: SmaFake) -> None:
    async with adapter(fake) as a:
        system, box = (await a.discover())[0]
        stored = a.credentials
    for _ in range(3):
        fake.clock.advance(600)
        async with adapter(fake, stored) as a:
            await a.fetch_snapshot(system, box)
            assert not a.credentials_changed
    fake.clock.advance(3_600 - 1_800 - 30)  # 30 s left: renew first, no 401 round trip
    async with adapter(fake, stored) as a:
        await a.fetch_snapshot(system, box)
        assert a.credentials_changed
    assert fake.paths().count("/oauth2/token") == 2


async def test_throttle_uses_retry_after_header(fake: SmaFake) -> None:
    async with adapter(fake) as a:
        fake.inject("throttle", match="/plants")
        with pytest.raises(Throttled) as caught:
            await a.list_systems()
    assert caught.value.retry_after_s == 180
    assert CLIENT_SECRET not in str(caught.value)


async def test_session_counter_fallback_and_power(fake: SmaFake) -> None:
    fake.report_lifetime = False
    state: dict = {}
    async with adapter(fake, state=state) as a:
        system, box = (await a.discover())[0]
        for power in (7_000, 3_600):
            fake.wallbox.start(power)
            fake.wallbox.advance(1_800)
            snap = await a.fetch_snapshot(system, box)
            assert snap.power_w == power
            fake.wallbox.stop()
            fake.wallbox.advance(600)
            last = await a.fetch_snapshot(system, box)
    assert last.lifetime_wh == pytest.approx(sum(s.energy_wh for s in fake.wallbox.sessions), abs=0.2)
    assert last.power_w == 0
