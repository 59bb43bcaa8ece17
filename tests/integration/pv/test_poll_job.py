"""Per brand, against its fake cloud, on SQLite and PostgreSQL: couple → poll → reconstruct → UPSERT → replay.

The job under test is ``pollers.pv.poll_pv_account`` exactly as the scheduler runs it; only the clock (the
fake's simulated time) and the base URL are passed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from pipelet_app import metrics
from pipelet_app.db import session_scope
from pipelet_app.db.models import PvAccount, PvSnapshot, PvStatus, PvWallbox
from pipelet_app.inverters.credentials import decrypt_credentials, encrypt_credentials
from pipelet_app.inverters.registry import adapter_class
from pipelet_app.services.pv_connections import list_connections
from pollers import pv as job
from pollers.pv import PollReport, due_accounts, poll_due, poll_pv_account
from tests.fakes.inverters import HARNESSES
from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._server import FakeCloud
from tests.integration.pv.helpers import account, couple, driver_id_of, make_driver, pv_sessions

HALF_HOUR = 1800
TOLERANCE_WH = 25.0


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> BrandHarness:
    return HARNESSES[request.param]


@pytest.fixture
def fake(harness: BrandHarness) -> Iterator[FakeCloud]:
    from pipelet_app.inverters.huawei import reset_sessions

    reset_sessions()  # Huawei's per-process session cache must not carry a token from another fake
    with harness.make_fake() as server:
        yield server


def native(harness: BrandHarness) -> bool:
    return adapter_class(harness.brand).supports_native_sessions


async def poll(account_id: int, fake: FakeCloud) -> PollReport:
    report = await poll_pv_account(account_id, clock=fake.clock.now, base_url=fake.base_url)
    assert report is not None, "the account was leased or gone"
    return report


async def charge_day(harness: BrandHarness, fake: FakeCloud, account_id: int) -> list[float]:
    """Two sessions with idle polls around them, polled every 30 min. Returns the true energies (Wh)."""
    wallbox = harness.wallbox(fake)

    async def steps(n: int) -> None:
        for _ in range(n):
            wallbox.advance(HALF_HOUR)
            report = await poll(account_id, fake)
            assert report.status in ("connected", "syncing"), report.message

    await steps(2)
    wallbox.start(7_400)
    await steps(3)
    wallbox.stop()
    await steps(4)
    wallbox.start(11_000)
    await steps(2)
    wallbox.stop()
    await steps(3)
    return [s.energy_wh for s in wallbox.sessions]


async def test_couple_poll_reconstruct_upsert_and_replay(
    database: str, harness: BrandHarness, fake: FakeCloud
) -> None:
    principal = make_driver()
    driver_id = driver_id_of(principal)
    good = harness.good_credentials(fake)
    account_id = await couple(harness, fake, principal, good)
    with session_scope() as db:
        [box] = db.exec(select(PvWallbox).where(PvWallbox.account_id == account_id)).all()
        assert box.serial == harness.wallbox(fake).serial, "the charger is detected, not typed in"
        assert [a for a, _ in due_accounts(db, fake.clock.now())] == [account_id], "due at once"

    truth = await charge_day(harness, fake, account_id)

    sessions = pv_sessions(driver_id)
    assert len(sessions) == 2, [(s.transaction_id, s.energy_wh) for s in sessions]
    for session, energy in zip(sessions, truth, strict=True):
        assert session.id_tag == f"pv-{harness.brand}"
        assert session.station_id == box.serial
        assert session.reason == ("pv-native" if native(harness) else "pv-reconstructed")
        assert session.transaction_id.startswith(f"pv-{harness.brand}-{box.system_id}-{box.serial}-")
        assert session.end_utc is not None and session.end_utc > session.start_utc
        assert session.energy_wh == pytest.approx(energy, abs=TOLERANCE_WH)
    true_starts = [s.start for s in harness.wallbox(fake).sessions]
    for session, start in zip(sessions, true_starts, strict=True):
        assert abs((session.start_utc - start).total_seconds()) <= (1 if native(harness) else HALF_HOUR)

    stored = account(account_id)
    assert stored.status == PvStatus.CONNECTED.value and stored.failures == 0
    assert stored.lease_until_utc is None and stored.last_sync_utc == fake.clock.now()
    assert stored.next_poll_utc is not None and stored.next_poll_utc > fake.clock.now()
    assert stored.credentials_enc is not None
    for secret in (v for v in good.values() if isinstance(v, str) and len(v) >= 6):
        assert secret not in stored.credentials_enc, "credentials are stored encrypted"
    assert decrypt_credentials(stored.credentials_enc).keys() >= set(good) - {"refresh_token"}
    with session_scope() as db:
        snapshots = db.exec(select(PvSnapshot).where(PvSnapshot.account_id == account_id)).all()
    assert (len(snapshots) == 0) if native(harness) else (len(snapshots) >= 10)

    # replay: polls without new data, then the whole history re-read and reconstructed from scratch
    before = {(s.transaction_id, round(s.energy_wh, 3), s.start_utc, s.end_utc) for s in sessions}
    harness.wallbox(fake).advance(HALF_HOUR)
    await poll(account_id, fake)
    with session_scope() as db:
        for row in db.exec(select(PvWallbox).where(PvWallbox.account_id == account_id)).all():
            row.resume_from_utc = row.native_since_utc = None
            db.add(row)
        if native(harness):  # forget the import cursor too: the full history is fetched again
            row = db.get(PvAccount, account_id)
            assert row is not None
            row.state = {}
            db.add(row)
    harness.wallbox(fake).advance(HALF_HOUR)
    report = await poll(account_id, fake)
    assert report.sessions_written == 2
    after = {
        (s.transaction_id, round(s.energy_wh, 3), s.start_utc, s.end_utc) for s in pv_sessions(driver_id)
    }
    assert after == before


async def test_throttled_answers_back_off_then_recover(
    database: str, harness: BrandHarness, fake: FakeCloud
) -> None:
    account_id = await couple(harness, fake, make_driver())
    await poll(account_id, fake)
    match = "/sessions" if native(harness) else harness.snapshot_match
    gaps = []
    for failures in range(1, 5):
        fake.inject("throttle", match=match)
        now = fake.clock.now()
        report = await poll(account_id, fake)
        stored = account(account_id)
        assert report.status == stored.status == PvStatus.THROTTLED.value
        assert stored.failures == failures and stored.message
        assert stored.next_poll_utc is not None
        with session_scope() as db:
            assert account_id not in [a for a, _ in due_accounts(db, now)], "not retried hot"
        gaps.append((stored.next_poll_utc - now).total_seconds())
        fake.clock.set(stored.next_poll_utc)
    assert gaps == sorted(gaps) and gaps[-1] >= 2_400, gaps  # exponential: 300 s x 2^3 at the fourth
    assert gaps[0] >= HALF_HOUR, "a throttle never polls sooner than the normal pace"
    report = await poll(account_id, fake)
    assert report.status == "connected" and account(account_id).failures == 0


async def test_expired_session_is_renewed_revoked_credentials_need_reauth(
    database: str, harness: BrandHarness, fake: FakeCloud
) -> None:
    account_id = await couple(harness, fake, make_driver())
    await poll(account_id, fake)
    if harness.expire_session is not None:
        before = decrypt_credentials(account(account_id).credentials_enc or "")
        harness.expire_session(fake)
        fake.clock.advance(HALF_HOUR)
        report = await poll(account_id, fake)
        assert report.status == "connected", report.message
        if harness.brand == "enphase":  # the refreshed tokens were re-encrypted and saved
            after = decrypt_credentials(account(account_id).credentials_enc or "")
            assert after["access_token"] != before["access_token"]

    if harness.brand == "enphase":
        fake.expire_access_tokens()  # type: ignore[attr-defined]
        fake.revoke_refresh_tokens()  # type: ignore[attr-defined]
    else:  # the driver changed the password / revoked the key at the brand
        with session_scope() as db:
            row = db.get(PvAccount, account_id)
            assert row is not None
            row.credentials_enc = encrypt_credentials(harness.bad_credentials(fake))
            db.add(row)
    fake.clock.advance(HALF_HOUR)
    report = await poll(account_id, fake)
    stored = account(account_id)
    assert report.status == stored.status == PvStatus.REAUTH_NEEDED.value, report.message
    assert stored.next_poll_utc is None and stored.message
    with session_scope() as db:
        assert due_accounts(db, fake.clock.now() + timedelta(days=30)) == [], (
            "nothing to poll until re-coupled"
        )


@pytest.mark.parametrize("brand", ["solaredge", "enphase"])
async def test_a_crash_before_commit_loses_and_duplicates_nothing(
    database: str, brand: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = HARNESSES[brand]
    with harness.make_fake() as fake:
        principal = make_driver()
        account_id = await couple(harness, fake, principal)
        await poll(account_id, fake)
        wallbox = harness.wallbox(fake)
        wallbox.start(7_400)
        wallbox.advance(3 * HALF_HOUR)
        if not native(harness):
            await poll(account_id, fake)
        wallbox.stop()
        wallbox.advance(HALF_HOUR)

        def crash(*args: object, **kwargs: object) -> None:
            raise RuntimeError("worker killed")

        def rows() -> list[tuple[str, float, object]]:
            return [(s.transaction_id, round(s.energy_wh, 3), s.end_utc) for s in pv_sessions()]

        before = rows()  # reconstructed brands already hold the session as ongoing (end_utc None)
        assert all(end is None for _, _, end in before)

        with monkeypatch.context() as patch:
            patch.setattr(job, "_save_outcome", crash)
            with pytest.raises(RuntimeError):
                await poll_pv_account(account_id, clock=fake.clock.now, base_url=fake.base_url)
        assert rows() == before, "the finished session was in the rolled-back transaction"
        assert await poll_pv_account(account_id, clock=fake.clock.now, base_url=fake.base_url) is None, (
            "the crashed worker's lease still holds the account"
        )
        fake.clock.advance(700)  # past the lease
        await poll(account_id, fake)
        await poll(account_id, fake)
        [session] = pv_sessions(driver_id_of(principal))
        assert session.end_utc is not None
        assert [session.transaction_id] == [tid for tid, _, _ in before] or not before
        assert session.energy_wh == pytest.approx(wallbox.sessions[0].energy_wh, abs=TOLERANCE_WH)


async def test_scheduler_tick_polls_due_accounts_once_and_disconnect_mid_poll_discards(
    database: str,
) -> None:
    harness = HARNESSES["solaredge"]
    with harness.make_fake() as fake:
        first = await couple(harness, fake, make_driver("a@example.test"))
        second = await couple(harness, fake, make_driver("b@example.test"))
        reports = await poll_due(clock=fake.clock.now, base_url=fake.base_url)
        assert sorted(r.account_id for r in reports) == [first, second]
        assert await poll_due(clock=fake.clock.now, base_url=fake.base_url) == [], "nothing due right after"
        fake.clock.advance(2 * HALF_HOUR)
        assert len(await poll_due(clock=fake.clock.now, base_url=fake.base_url)) == 2

        # the driver disconnects while the poll's HTTP is under way: its answer is dropped, nothing written
        original = job.poll_account

        async def slow_poll(*args: object, **kwargs: object) -> object:
            result = await original(*args, **kwargs)  # type: ignore[arg-type]
            with session_scope() as db:
                for model in (PvSnapshot, PvWallbox):
                    for row in db.exec(select(model).where(model.account_id == first)).all():  # type: ignore[attr-defined]
                        db.delete(row)
                db.flush()
                row = db.get(PvAccount, first)
                db.delete(row)
            return result

        job.poll_account = slow_poll  # type: ignore[assignment]
        try:
            fake.clock.advance(2 * HALF_HOUR)
            report = await poll_pv_account(first, clock=fake.clock.now, base_url=fake.base_url)
        finally:
            job.poll_account = original
        assert report is not None and report.discarded
        with session_scope() as db:
            assert db.exec(select(PvSnapshot).where(PvSnapshot.account_id == first)).all() == []


async def test_a_long_enphase_history_shows_progress_then_completes_without_duplicates(database: str) -> None:
    harness = HARNESSES["enphase"]
    with harness.make_fake() as fake:
        for _ in range(950):
            fake.wallbox.charge(minutes=20, power_w=7_400)  # type: ignore[attr-defined]
            fake.wallbox.advance(3 * 3600)  # type: ignore[attr-defined]
        principal = make_driver()
        account_id = await couple(harness, fake, principal)
        first = await poll(account_id, fake)
        assert first.status == "syncing" and first.sessions_written == 800
        stored = account(account_id)
        # Enphase's documented sessions answer has no total (only the page's `count`): no "of N"
        assert (stored.progress_done, stored.progress_total) == (800, None)
        with session_scope() as db:
            [row] = list_connections(db, principal)
        assert row["status"] == "syncing" and row["progress"] == "800" and row["session_count"] == "800"
        assert stored.next_poll_utc is not None
        fake.clock.set(stored.next_poll_utc)
        second = await poll(account_id, fake)
        assert second.status == "connected"
        assert account(account_id).progress_done is None
        sessions = pv_sessions(driver_id_of(principal))
        assert len(sessions) == 950 == len({s.transaction_id for s in sessions})


async def test_an_adapter_crash_marks_the_account_integration_error_and_vendor_faults_stay_retryable(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The stored status tells the two apart: the vendor's 5xx is "error" (retry later); our adapter failing
    to read a 200 answer is "integration-error", logged with its traceback, still polled with back-off."""
    harness = HARNESSES["solaredge"]
    counted = {
        kind: metrics.POLL_ERRORS.labels("solaredge", kind)._value.get()
        for kind in ("error", "integration-error")
    }
    polls = metrics.POLLS.labels("solaredge", "connected")._value.get()
    with harness.make_fake() as fake:
        principal = make_driver()
        account_id = await couple(harness, fake, principal)
        assert (await poll(account_id, fake)).status == "connected"
        assert metrics.POLLS.labels("solaredge", "connected")._value.get() == polls + 1
        assert (
            0 < metrics.QUOTA_REMAINING.labels("solaredge")._value.get() < 300
        )  # 300 calls a day, some spent

        fake.clock.advance(HALF_HOUR)
        fake.inject("500", match=harness.snapshot_match)
        report = await poll(account_id, fake)
        stored = account(account_id)
        assert report.status == stored.status == PvStatus.ERROR.value and stored.failures == 1

        fake.clock.set(stored.next_poll_utc)
        caplog.clear()
        # meters as bare strings: the adapter's `m.get(...)` raises AttributeError, a crash in our code
        crash = {"meterEnergyDetails": {"unit": "Wh", "meters": ["M1"]}}
        fake.inject("body", match=harness.snapshot_match, body=crash)
        with caplog.at_level("ERROR", logger="pipelet.inverters"):
            report = await poll(account_id, fake)
        stored = account(account_id)
        assert report.status == stored.status == PvStatus.INTEGRATION_ERROR.value == "integration-error"
        assert stored.failures == 2 and stored.next_poll_utc is not None
        assert "Pipelet" in (stored.message or "")
        assert any(r.exc_info and r.exc_info[0] is AttributeError for r in caplog.records), "traceback"
        with session_scope() as db:
            [row] = list_connections(db, principal)
        assert row["status"] == "integration-error"

        fake.clock.set(stored.next_poll_utc)
        report = await poll(account_id, fake)
        assert report.status == "connected" and account(account_id).failures == 0
    for kind, before in counted.items():  # one vendor fault and one crash of ours, each by its kind
        assert metrics.POLL_ERRORS.labels("solaredge", kind)._value.get() == before + 1, kind


async def test_an_account_without_a_charger_is_rediscovered_or_reports_why_not(database: str) -> None:
    harness = HARNESSES["solaredge"]
    with harness.make_fake() as fake:
        account_id = await couple(harness, fake, make_driver())
        with session_scope() as db:  # as if coupled before the charger was installed
            for row in db.exec(select(PvWallbox).where(PvWallbox.account_id == account_id)).all():
                db.delete(row)
            stored = db.get(PvAccount, account_id)
            assert stored is not None
            good = stored.credentials_enc
            stored.credentials_enc = encrypt_credentials(harness.bad_credentials(fake))
            db.add(stored)
        report = await poll(account_id, fake)
        assert report.status == "reauth-needed" and account(account_id).next_poll_utc is None

        with session_scope() as db:
            stored = db.get(PvAccount, account_id)
            assert stored is not None
            stored.credentials_enc, stored.next_poll_utc = good, fake.clock.now()
            db.add(stored)
        report = await poll(account_id, fake)
        assert report.status == "connected" and report.snapshots == 1
        with session_scope() as db:
            [box] = db.exec(select(PvWallbox).where(PvWallbox.account_id == account_id)).all()
        assert box.serial == harness.wallbox(fake).serial


@pytest.mark.parametrize("setting,expected_s", [("", 1800), ("sma=600, solaredge=900", 900)])
async def test_the_poll_interval_is_configurable_per_brand(
    database: str, monkeypatch: pytest.MonkeyPatch, setting: str, expected_s: int
) -> None:
    from pipelet_app.settings import get_settings

    monkeypatch.setenv("PV_POLL_INTERVALS", setting)
    get_settings.cache_clear()
    harness = HARNESSES["solaredge"]
    with harness.make_fake() as fake:
        fake.clock.set(fake.clock.now().replace(hour=10))  # daytime at the site
        account_id = await couple(harness, fake, make_driver())
        report = await poll(account_id, fake)
        assert report.next_poll_utc == fake.clock.now() + timedelta(seconds=expected_s)
