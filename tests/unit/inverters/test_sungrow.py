"""Sungrow specifics: the three throttle codes' waits, app-key refusal, token renewal, power and status."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from pipelet_app.inverters.base import InvalidCredentials, Throttled
from pipelet_app.inverters.sungrow import SungrowAdapter
from tests.fakes.inverters.sungrow import ACCESS_KEY, ACCOUNT, APPKEY, PASSWORD, SungrowFake

CREDS = {"appkey": APPKEY, "access_key": ACCESS_KEY, "user_account": ACCOUNT, "user_password": PASSWORD}


@pytest.fixture
def fake() -> Iterator[SungrowFake]:
    with SungrowFake() as server:  # clock: 1 June 06:00 UTC
        yield server


def adapter(fake: SungrowFake, credentials: dict | None = None) -> SungrowAdapter:
    return SungrowAdapter(dict(credentials or CREDS), base_url=fake.base_url, clock=fake.clock.now)


@pytest.mark.parametrize(
    ("code", "wait"),
    [
        ("E901", 60.0),
        ("E999", 3_600.0 - 17 * 60),
        ("E998", timedelta(days=29, hours=17, minutes=43).total_seconds()),
    ],
)
async def test_throttle_codes_wait_for_their_window(fake: SungrowFake, code: str, wait: float) -> None:
    fake.clock.advance(17 * 60)
    fake.throttle_code = code
    async with adapter(fake) as a:
        await a.test_credentials()
        fake.inject("throttle")
        with pytest.raises(Throttled) as caught:
            await a.list_systems()
    assert caught.value.retry_after_s == pytest.approx(wait)


async def test_refused_app_key_is_invalid_credentials(fake: SungrowFake) -> None:
    async with adapter(fake, {**CREDS, "access_key": "wrong-access-key"}) as a:
        with pytest.raises(InvalidCredentials, match="app key"):
            await a.test_credentials()


async def test_stored_token_is_reused_then_renewed_once_when_invalid(fake: SungrowFake) -> None:
    async with adapter(fake) as a:
        system, box = (await a.discover())[0]
        stored = a.credentials
    async with adapter(fake, stored) as b:
        await b.fetch_snapshot(system, box)
        assert not b.credentials_changed
        fake.expire_tokens()
        fake.wallbox.start(7_400)
        fake.wallbox.advance(300)
        snap = await b.fetch_snapshot(system, box)
        assert b.credentials_changed
    assert fake.paths().count("/openapi/login") == 2
    assert snap.power_w == 7_400 and snap.status == "charging"
    assert snap.time_utc == fake.clock.now()
