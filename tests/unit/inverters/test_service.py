"""connect() and poll_account(): statuses, stored parts and next poll times, against the fakes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from pipelet_app.inverters.base import IntegrationError, InvalidCredentials
from pipelet_app.inverters.enphase import EnphaseAdapter
from pipelet_app.inverters.service import ConnectionStatus, PollOutcome, connect, poll_account
from tests.fakes.inverters.enphase import EnphaseFake
from tests.fakes.inverters.huawei import SYSTEM_CODE, USER, HuaweiFake
from tests.fakes.inverters.solaredge import API_KEY, SERIAL, SolarEdgeFake


@pytest.fixture
def solaredge() -> Iterator[SolarEdgeFake]:
    with SolarEdgeFake() as server:
        yield server


@pytest.fixture
def enphase() -> Iterator[EnphaseFake]:
    with EnphaseFake() as server:
        yield server


async def test_connect_returns_what_to_store_and_the_chargers(solaredge: SolarEdgeFake) -> None:
    result = await connect("solaredge", {"api_key": API_KEY}, base_url=solaredge.base_url)
    assert result.credentials == {"api_key": API_KEY}
    assert [box.serial for _, box in result.found] == [SERIAL]
    with pytest.raises(InvalidCredentials):
        await connect("solaredge", {"api_key": "wrong-key-123"}, base_url=solaredge.base_url)


async def test_connect_keeps_the_session_token_for_the_first_poll() -> None:
    from pipelet_app.inverters.huawei import reset_sessions

    reset_sessions()
    with HuaweiFake() as fake:
        result = await connect(
            "huawei",
            {"userName": USER, "systemCode": SYSTEM_CODE},
            base_url=fake.base_url,
            clock=fake.clock.now,
        )
    assert result.credentials["xsrf_token"] == fake.token
    assert len(result.found) == 1


async def test_poll_spends_quota_and_polls_denser_while_the_counter_rises(solaredge: SolarEdgeFake) -> None:
    found = (await connect("solaredge", {"api_key": API_KEY}, base_url=solaredge.base_url)).found
    kwargs = dict(base_url=solaredge.base_url, clock=solaredge.clock.now, tz_name="Europe/Amsterdam")
    idle = await poll_account("solaredge", {"api_key": API_KEY}, found, **kwargs)
    assert idle.status is ConnectionStatus.CONNECTED and idle.message is None
    assert idle.requests == 1 and len(idle.ledger["request"]) == 1
    assert not idle.session_active
    assert idle.next_poll_utc == solaredge.clock.now() + timedelta(minutes=30)
    assert idle.credentials is None

    solaredge.wallbox.start(7_400)
    solaredge.wallbox.advance(1_800)
    busy = await poll_account(
        "solaredge", {"api_key": API_KEY}, found, state=idle.state, ledger=idle.ledger, **kwargs
    )
    assert busy.session_active
    assert busy.next_poll_utc == solaredge.clock.now() + timedelta(minutes=5)
    assert len(busy.ledger["request"]) == 2
    [(box, snap)] = busy.snapshots
    assert box.serial == SERIAL and snap.lifetime_wh > idle.snapshots[0][1].lifetime_wh


async def test_throttle_and_outage_become_statuses_with_back_off(solaredge: SolarEdgeFake) -> None:
    found = (await connect("solaredge", {"api_key": API_KEY}, base_url=solaredge.base_url)).found
    kwargs = dict(base_url=solaredge.base_url, clock=solaredge.clock.now)
    solaredge.inject("throttle")
    throttled = await poll_account("solaredge", {"api_key": API_KEY}, found, failures=2, **kwargs)
    assert throttled.status is ConnectionStatus.THROTTLED
    assert throttled.failures == 3 and throttled.retry_after_s == 900
    assert throttled.next_poll_utc >= solaredge.clock.now() + timedelta(seconds=1_200)
    assert API_KEY not in throttled.message
    assert len(throttled.ledger["request"]) == 1, "a throttled request still counts against the quota"

    solaredge.inject("html")
    down = await poll_account("solaredge", {"api_key": API_KEY}, found, **kwargs)
    assert down.status is ConnectionStatus.ERROR and down.failures == 1 and "retry" in down.message
    ok = await poll_account("solaredge", {"api_key": API_KEY}, found, failures=1, **kwargs)
    assert ok.status is ConnectionStatus.CONNECTED and ok.failures == 0


async def test_enphase_native_import_full_then_incremental(enphase: EnphaseFake) -> None:
    for _ in range(120):
        enphase.wallbox.charge(minutes=45, power_w=7_400)
        enphase.wallbox.advance(6 * 3600)
    creds = enphase.credentials()
    found = (await connect("enphase", creds, base_url=enphase.base_url, clock=enphase.clock.now)).found
    progress: list[tuple[int, int | None]] = []
    kwargs = dict(base_url=enphase.base_url, clock=enphase.clock.now)
    first = await poll_account(
        "enphase", creds, found, on_progress=lambda n, t: progress.append((n, t)), **kwargs
    )
    [(box, sessions)] = first.native_sessions
    assert len(sessions) == 120 and first.requests == 2 and progress[-1] == (120, None)
    assert first.snapshots == []

    enphase.wallbox.charge(minutes=30, power_w=7_400)
    since = {box.serial: sessions[-1].start_utc}
    second = await poll_account("enphase", creds, found, state=first.state, native_since=since, **kwargs)
    assert second.requests == 1
    assert second.native_sessions[0][1][-1].start_utc == enphase.wallbox.sessions[-1].start.replace(
        microsecond=0
    )
    assert second.session_active, "a session ended minutes ago: keep polling densely"


async def test_enphase_failed_refresh_needs_reauth_and_stops_polling(enphase: EnphaseFake) -> None:
    creds = enphase.credentials()
    found = (await connect("enphase", creds, base_url=enphase.base_url, clock=enphase.clock.now)).found
    enphase.expire_access_tokens()
    enphase.revoke_refresh_tokens()
    outcome = await poll_account("enphase", creds, found, base_url=enphase.base_url, clock=enphase.clock.now)
    assert outcome.status is ConnectionStatus.REAUTH_NEEDED
    assert outcome.next_poll_utc is None
    assert "reconnect" in outcome.message


async def test_enphase_refreshed_tokens_are_handed_back_for_storage(enphase: EnphaseFake) -> None:
    creds = enphase.credentials()
    found = (await connect("enphase", creds, base_url=enphase.base_url, clock=enphase.clock.now)).found
    enphase.clock.advance(86_400 - 60)
    outcome = await poll_account("enphase", creds, found, base_url=enphase.base_url, clock=enphase.clock.now)
    assert outcome.status is ConnectionStatus.CONNECTED
    assert outcome.credentials is not None
    assert outcome.credentials["access_token"] != creds["access_token"]


async def test_a_long_enphase_history_is_syncing_with_progress_until_done(enphase: EnphaseFake) -> None:
    for _ in range(950):
        enphase.wallbox.charge(minutes=20, power_w=7_400)
        enphase.wallbox.advance(3 * 3600)
    creds = enphase.credentials()
    kwargs = dict(base_url=enphase.base_url, clock=enphase.clock.now)
    found = (await connect("enphase", creds, **kwargs)).found
    first = await poll_account("enphase", creds, found, **kwargs)
    assert first.status is ConnectionStatus.SYNCING
    assert first.progress == (800, None) and "importing the charging history: 800" in (first.message or "")
    assert first.requests == 8
    assert first.next_poll_utc >= enphase.clock.now() + timedelta(seconds=60)
    enphase.clock.set(first.next_poll_utc)
    since = {found[0][1].serial: max(s.start_utc for s in first.native_sessions[0][1])}
    second = await poll_account(
        "enphase", creds, found, state=first.state, ledger=first.ledger, native_since=since, **kwargs
    )
    assert second.status is ConnectionStatus.CONNECTED and second.progress is None
    assert len(second.native_sessions[0][1]) == 150


async def test_an_adapter_crash_is_an_integration_error_and_vendor_faults_stay_retryable(
    enphase: EnphaseFake, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two paths, told apart: the vendor failing (5xx, 429) is "retry later"; our code failing to read a
    2xx answer is INTEGRATION_ERROR, logged with its traceback, and still polled again with back-off."""
    creds = enphase.credentials()
    kwargs = dict(base_url=enphase.base_url, clock=enphase.clock.now)
    found = (await connect("enphase", creds, **kwargs)).found
    enphase.wallbox.advance(3_600)

    # poll the telemetry counter (the snapshot path) rather than the native sessions: its parser is tested
    monkeypatch.setattr(EnphaseAdapter, "supports_native_sessions", False)

    async def snapshot_poll(**extra: Any) -> PollOutcome:
        return await poll_account("enphase", creds, found, **kwargs, **extra)

    enphase.inject("500", match="/telemetry")
    down = await snapshot_poll(failures=1)
    assert down.status is ConnectionStatus.ERROR and down.failures == 2 and "retr" in (down.message or "")

    enphase.inject("throttle", match="/telemetry")
    throttled = await snapshot_poll()
    assert throttled.status is ConnectionStatus.THROTTLED and throttled.retry_after_s is not None

    caplog.clear()
    # a parse crash deep in the adapter (ValueError in parse_time), on an answer the vendor sent with 200
    enphase.inject("body", match="/telemetry", body={"consumption": [{"end_at": "soon", "consumption": 5}]})
    with caplog.at_level("ERROR", logger="pipelet.inverters"):
        broken = await snapshot_poll(failures=0)
    assert broken.status is ConnectionStatus.INTEGRATION_ERROR
    assert broken.status.value == "integration-error"
    assert "Pipelet" in (broken.message or "") and "retr" not in (broken.message or "")
    assert broken.failures == 1 and broken.next_poll_utc is not None, "polled again once fixed"
    [record] = [r for r in caplog.records if r.name == "pipelet.inverters"]
    assert record.exc_info is not None and record.exc_info[0] is ValueError, "the traceback is logged"
    assert creds["access_token"] not in caplog.text

    # the shape the adapter used to expect (flat `devices` list) is now an integration error too
    enphase.inject("body", match="/ev_charger/devices", body={"devices": [{"serial_number": "1"}]})
    with caplog.at_level("ERROR", logger="pipelet.inverters"), pytest.raises(IntegrationError):
        await connect("enphase", creds, **kwargs)

    healthy = await snapshot_poll(failures=1)
    assert healthy.status is ConnectionStatus.CONNECTED and healthy.failures == 0
