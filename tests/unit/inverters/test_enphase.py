"""Enphase specifics: OAuth code flow and refresh, native session paging, the energy-unit decision."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pipelet_app.inverters.base import InvalidCredentials, ReauthRequired, Throttled
from pipelet_app.inverters.enphase import EnphaseAdapter, energy_added_wh
from tests.fakes.inverters._server import FakeResponse
from tests.fakes.inverters.enphase import CLIENT_ID, CLIENT_SECRET, SERIAL, EnphaseFake


@pytest.fixture
def fake() -> Iterator[EnphaseFake]:
    with EnphaseFake() as server:
        yield server


def adapter(fake: EnphaseFake, credentials: dict | None = None, state: dict | None = None) -> EnphaseAdapter:
    return EnphaseAdapter(
        credentials if credentials is not None else fake.credentials(),
        base_url=fake.base_url,
        clock=fake.clock.now,
        state=state,
    )


async def test_authorize_url_round_trip_and_code_exchange(fake: EnphaseFake) -> None:
    url = EnphaseAdapter.authorize_url(
        redirect_uri="http://pipelet.test/cb", state="xyz", client_id=CLIENT_ID, base_url=fake.base_url
    )
    async with httpx.AsyncClient() as client:
        consent = await client.get(url)
    assert consent.status_code == 302
    back = parse_qs(urlsplit(consent.headers["location"]).query)
    assert back["state"] == ["xyz"]
    credentials = await EnphaseAdapter.exchange_code(
        back["code"][0],
        redirect_uri="http://pipelet.test/cb",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        base_url=fake.base_url,
        clock=fake.clock.now,
    )
    assert credentials["access_token"] in fake.access
    assert credentials["refresh_token"] in fake.refresh
    assert credentials["expires_at"] == pytest.approx(fake.clock.now().timestamp() + 86_400)
    token_call = next(r for r in fake.requests if r.path == "/oauth/token")
    assert token_call.header("authorization").startswith("Basic ")
    assert token_call.query["grant_type"] == "authorization_code"


async def test_wrong_or_reused_code_is_invalid_credentials(fake: EnphaseFake) -> None:
    code = fake.issue_code("http://pipelet.test/cb")
    kwargs = dict(
        redirect_uri="http://pipelet.test/cb",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        base_url=fake.base_url,
    )
    await EnphaseAdapter.exchange_code(code, **kwargs)
    with pytest.raises(InvalidCredentials) as caught:
        await EnphaseAdapter.exchange_code(code, **kwargs)
    assert code not in str(caught.value)
    with pytest.raises(InvalidCredentials):
        await EnphaseAdapter.exchange_code(fake.issue_code(), **{**kwargs, "client_secret": "wrong"})


async def test_refreshes_ten_minutes_before_expiry(fake: EnphaseFake) -> None:
    credentials = fake.credentials()
    fake.clock.advance(86_400 - 300)  # five minutes left: inside the margin
    async with adapter(fake, credentials) as a:
        await a.test_credentials()
        assert a.credentials_changed
        assert a.credentials["access_token"] != credentials["access_token"]
        assert a.credentials["refresh_token"] in fake.refresh
    assert [r.query.get("grant_type") for r in fake.requests if r.path == "/oauth/token"] == ["refresh_token"]


async def test_token_rejected_early_is_refreshed_once(fake: EnphaseFake) -> None:
    async with adapter(fake) as a:
        fake.expire_access_tokens()
        systems = await a.list_systems()
        assert a.credentials_changed
    assert len(systems) == 2
    assert sum(r.path == "/oauth/token" for r in fake.requests) == 1


async def test_failed_refresh_requires_reauth(fake: EnphaseFake) -> None:
    async with adapter(fake) as a:
        fake.expire_access_tokens()
        fake.revoke_refresh_tokens()
        with pytest.raises(ReauthRequired) as caught:
            await a.list_systems()
    assert "reconnect" in str(caught.value)


async def test_monthly_quota_answer_waits_for_next_month(fake: EnphaseFake) -> None:
    async with adapter(fake) as a:
        await a.test_credentials()
        fake.throttle_response = lambda req: FakeResponse(  # type: ignore[method-assign]
            429, {"message": "Too Many Requests", "period": "month", "limit": 1000}
        )
        fake.inject("throttle")
        with pytest.raises(Throttled) as caught:
            await a.test_credentials()
    # the fake's clock is 1 June 06:00 UTC: next month starts 1 July
    assert caught.value.retry_after_s == pytest.approx(timedelta(days=29, hours=18).total_seconds())


async def test_per_minute_limit_retry_after_is_end_of_minute(fake: EnphaseFake) -> None:
    fake.per_minute_limit = 2
    async with adapter(fake) as a:
        await a.test_credentials()
        await a.test_credentials()
        with pytest.raises(Throttled) as caught:
            await a.test_credentials()
    assert 0 < caught.value.retry_after_s <= 60


def _make_history(fake: EnphaseFake, n: int) -> None:
    for i in range(n):
        fake.wallbox.charge(minutes=30 + i % 7, power_w=7400)
        fake.wallbox.advance(3600 * 5)


async def test_full_history_is_paged_with_progress_then_incremental(fake: EnphaseFake) -> None:
    _make_history(fake, 230)
    state: dict = {}
    progress: list[tuple[int, int | None]] = []
    async with adapter(fake, state=state) as a:
        system = (await a.list_systems())[0]
        box = (await a.list_wallboxes(system))[0]
        fake.requests.clear()
        sessions = await a.fetch_native_sessions(
            system, box, on_progress=lambda n, t: progress.append((n, t))
        )
    pages = [r for r in fake.requests if r.path.endswith("/sessions")]
    assert [int(r.query["limit"]) for r in pages] == [100, 100, 100]
    assert [int(r.query["offset"]) for r in pages] == [0, 100, 200]
    # the documented answer carries no total (only `count` of the page): progress knows no total
    assert progress == [(100, None), (200, None), (230, None)]
    assert len(sessions) == 230
    assert [s.start_utc for s in sessions] == sorted(s.start_utc for s in sessions)
    for got, truth in zip(sessions, fake.wallbox.sessions, strict=True):
        # minute-accurate, site-local text converted to UTC
        assert got.start_utc == truth.start.replace(microsecond=0)
        assert got.end_utc == truth.end.replace(microsecond=0)
        assert got.energy_wh == pytest.approx(truth.energy_wh, abs=5)  # reported as kWh with 2 decimals

    last_end = sessions[-1].end_utc
    _make_history(fake, 3)
    fake.requests.clear()
    async with adapter(fake, state=state) as a:
        newer = await a.fetch_native_sessions(system, box, since=last_end)
    assert len([r for r in fake.requests if r.path.endswith("/sessions")]) == 1, "newest first: one page"
    assert [s.start_utc for s in newer][-3:] == [
        t.start.replace(microsecond=0) for t in fake.wallbox.sessions[-3:]
    ]
    assert all(s.end_utc >= last_end - timedelta(hours=1) for s in newer)


async def test_oldest_first_order_resumes_from_stored_offset(fake: EnphaseFake) -> None:
    fake.newest_first = False
    _make_history(fake, 150)
    state: dict = {}
    async with adapter(fake, state=state) as a:
        system = (await a.list_systems())[0]
        box = (await a.list_wallboxes(system))[0]
        first = await a.fetch_native_sessions(system, box)
        _make_history(fake, 2)
        fake.requests.clear()
        newer = await a.fetch_native_sessions(system, box, since=first[-1].end_utc)
    offsets = [int(r.query["offset"]) for r in fake.requests if r.path.endswith("/sessions")]
    assert offsets == [50, 150]
    assert len(first) == 150
    assert newer[-1].start_utc == fake.wallbox.sessions[-1].start.replace(microsecond=0)


async def test_wh_reporting_account_gives_the_same_energy(fake: EnphaseFake) -> None:
    fake.energy_unit = "wh"
    _make_history(fake, 3)
    async with adapter(fake) as a:
        system = (await a.list_systems())[0]
        box = (await a.list_wallboxes(system))[0]
        sessions = await a.fetch_native_sessions(system, box)
    assert [round(s.energy_wh) for s in sessions] == [round(t.energy_wh) for t in fake.wallbox.sessions]
    assert box.serial == SERIAL


@pytest.mark.parametrize(
    ("value", "charge_time", "expected"),
    [
        (14.83, 3 * 3600, 14_830.0),  # the docs' example: kWh
        (14_830, 3 * 3600, 14_830.0),  # the schema's unit: Wh
        (150, 60, 150.0),  # 150 kWh in a minute is impossible: Wh
        (11.0, 3600, 11_000.0),  # 11 kW for an hour: kWh
        (40.0, None, 40_000.0),  # no time given: small numbers are kWh
        (5_000.0, None, 5_000.0),
    ],
)
def test_energy_unit_decision(value: float, charge_time: int | None, expected: float) -> None:
    assert energy_added_wh(value, charge_time) == pytest.approx(expected)


def test_energy_unit_override() -> None:
    assert energy_added_wh(14.83, 10_800, unit="wh") == 14.83
    assert energy_added_wh(14_830, 10_800, unit="kwh") == 14_830_000


async def test_long_history_is_imported_over_several_calls_without_gaps(fake: EnphaseFake) -> None:
    _make_history(fake, 250)
    state: dict = {}
    got: dict[str, object] = {}
    async with adapter(fake, state=state) as a:
        system = (await a.list_systems())[0]
        box = (await a.list_wallboxes(system))[0]
        first = await a.fetch_native_sessions(system, box, max_pages=1)
        assert len(first) == 100 and a.sync_progress == (100, None)
        _make_history(fake, 5)  # newest first: these push older sessions to higher offsets
        second = await a.fetch_native_sessions(system, box, since=first[-1].start_utc, max_pages=1)
        assert a.sync_progress == (200, None)
        rest = []
        while a.sync_progress is not None or not rest:
            rest += await a.fetch_native_sessions(system, box, since=first[-1].start_utc, max_pages=1)
        assert a.sync_progress is None
        for session in [*first, *second, *rest]:
            got[session.session_id] = session
        newest = await a.fetch_native_sessions(system, box, since=first[-1].start_utc)
        got.update({s.session_id: s for s in newest})
    truth = {t.start.replace(microsecond=0) for t in fake.wallbox.sessions}
    assert {s.start_utc for s in got.values()} == truth  # nothing skipped, duplicates merged by id
