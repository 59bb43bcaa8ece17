"""Brands with a live counter and a history (Huawei: total_cap and the hourly plant data; Sungrow: the day
yield and the minute history) into a site's 1-minute series, on SQLite and PostgreSQL: what the history later
reads for a span the counter difference already stored replaces those minutes' rows (the UPSERT's key), it
never adds to them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import SiteInverter, SiteSample
from pipelet_app.db.types import utcnow
from pipelet_app.inverters.base import System
from pipelet_app.services import site_inverters as service
from pollers.site_inverters import LinkReport
from tests.fakes.inverters import huawei as huawei_fake
from tests.fakes.inverters import sungrow as sungrow_fake
from tests.integration.sites.test_site_inverters import _force_poll, _operator_site, _poll_connected, _pv


def _rows_per_minute(site_id: int) -> Counter[datetime]:
    with session_scope() as db:
        return Counter(
            ts.replace(second=0, microsecond=0)
            for ts in db.exec(select(SiteSample.ts).where(SiteSample.site_id == site_id)).all()
        )


async def test_history_replaces_the_counter_rows_it_overlaps(database: str) -> None:
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    if hour.hour > 21:  # both hours in one plant day (UTC here): one history call reads them
        hour -= timedelta(hours=3)
    huawei_fake.reset_sessions()
    principal, site_id, _ = _operator_site()
    with huawei_fake.HuaweiFake(start=hour - timedelta(minutes=5)) as fake:
        fake.production = lambda moment: {0: 1000.0, 1: 3000.0}.get(  # type: ignore[method-assign]
            int((moment - hour).total_seconds() // 3600), 500.0
        )
        credentials = {"userName": huawei_fake.USER, "systemCode": huawei_fake.SYSTEM_CODE}
        with session_scope() as db:
            link_id = service.link(
                db, principal, site_id, "huawei", credentials, [System(huawei_fake.PLANT, "")]
            )["id"]

        def poll() -> Awaitable[LinkReport]:
            return _poll_connected(link_id, fake)

        await poll()  # the counter's baseline
        fake.clock.advance(70 * 60)  # the first hour complete, but its history throttled (407)
        fake.inject("throttle", match="getKpiStationHour")
        await poll()
        smeared = _pv(site_id, hour, hour + timedelta(hours=1))
        assert len(smeared) == 60 and len(set(smeared.values())) == 1, "one counter span, one mean"
        assert next(iter(smeared.values())) != pytest.approx(1000.0)

        fake.clock.advance(60 * 60)  # two complete hours now: the history overlaps the counter's span
        await poll()
        first = _pv(site_id, hour, hour + timedelta(hours=1))
        second = _pv(site_id, hour + timedelta(hours=1), hour + timedelta(hours=2))
        assert set(first.values()) == {1000.0} and set(second.values()) == {3000.0}
        produced = sum(v or 0.0 for v in (first | second).values()) / 60
        assert produced == pytest.approx(4000.0), "the history's energy, nothing of the counter's added"
        rows = _rows_per_minute(site_id)
        assert rows and set(rows.values()) == {1}, "one row a minute: replaced, never doubled"

        count = sum(rows.values())
        fake.clock.advance(5 * 60)
        await poll()  # the history is not asked again (no new complete hour); the counter moves on
        assert sum(_rows_per_minute(site_id).values()) == count + 5
    huawei_fake.reset_sessions()


async def test_sungrow_minute_history_replaces_a_missed_polls_smear_the_next_day(database: str) -> None:
    """Sungrow's history has no data of the plant's current day: the smeared counter span of a missed poll
    stays until the next day's polls read that day's 5-minute samples over it."""
    day = datetime(2026, 6, 1, tzinfo=UTC)
    principal, site_id, _ = _operator_site()
    with sungrow_fake.SungrowFake(start=day + timedelta(hours=9, minutes=55)) as fake:
        fake.production = lambda moment: {10: 1000.0, 11: 3000.0}.get(  # type: ignore[method-assign]
            moment.hour, 0.0 if moment < day + timedelta(hours=10) else 2000.0
        )
        system = System(str(sungrow_fake.PS_ID), "", sungrow_fake.TZ)
        with session_scope() as db:
            link = service.link(
                db, principal, site_id, "sungrow", sungrow_fake.HARNESS.good_credentials(fake), [system]
            )

        def poll() -> Awaitable[LinkReport]:
            return _poll_connected(link["id"], fake)

        await poll()  # 09:55: the day yield's baseline
        fake.clock.advance(130 * 60)  # 12:05: the 10:25 poll was missed, one span smears 09:55-12:05
        await poll()
        hours = (day + timedelta(hours=10), day + timedelta(hours=12))
        smeared = _pv(site_id, *hours)
        assert len(smeared) == 120 and len(set(smeared.values())) == 1

        fake.clock.advance(18 * 3600)  # the next morning: one 3-hour window of the day before a poll
        for _ in range(3):
            await poll()
            fake.clock.advance(30 * 60)
        filled = _pv(site_id, *hours)
        assert all(v == pytest.approx(1000.0, abs=2) for m, v in filled.items() if m.hour == 10)
        assert all(v == pytest.approx(3000.0, abs=2) for m, v in filled.items() if m.hour == 11)
        assert sum(v or 0.0 for v in filled.values()) / 60 == pytest.approx(4000.0, abs=2)
        rows = _rows_per_minute(site_id)
        assert rows and set(rows.values()) == {1}, "one row a minute: replaced, never doubled"


async def test_sungrow_refused_history_calls_count_in_the_hourly_quota(database: str) -> None:
    """A cloud refusing the minute history at every poll: each poll asks the owed window again, and those
    calls are spent in the link's ledger, so in no hour do the cloud's requests exceed Sungrow's 60."""
    day = datetime(2026, 6, 1, tzinfo=UTC)
    principal, site_id, _ = _operator_site()
    with sungrow_fake.SungrowFake(start=day + timedelta(hours=6)) as fake:
        fake.history_code = "E900"  # an app plan without the minute history
        system = System(str(sungrow_fake.PS_ID), "", sungrow_fake.TZ)
        with session_scope() as db:
            link_id = service.link(
                db, principal, site_id, "sungrow", sungrow_fake.HARNESS.good_credentials(fake), [system]
            )["id"]
        sent: list[tuple[datetime, int]] = []  # (poll time, requests other than logins)
        statuses = Counter()
        for _ in range(150):  # a poll every 30 s for 75 minutes
            before = sum(1 for r in fake.requests if not r.path.endswith("/login"))
            report = await _force_poll(link_id, fake)
            assert report is not None
            statuses[report.status] += 1
            after = sum(1 for r in fake.requests if not r.path.endswith("/login"))
            sent.append((fake.clock.now(), after - before))
            fake.clock.advance(30)
        refused = [b for p, s, b in fake.answers if p.endswith("/getDevicePointMinuteDataList")]
        assert len(refused) > 10 and all(b["result_code"] == "E900" for b in refused), "refused, again"
        busiest = max(sum(n for t, n in sent if start <= t < start + timedelta(hours=1)) for start, _ in sent)
        assert busiest <= 60, f"{busiest} requests in one hour"
        assert statuses["throttled"] > 0, "the quota, not the test's pace, stopped the polls"
        with session_scope() as db:
            row = db.get(SiteInverter, link_id)
            assert row is not None
            assert len(row.ledger["request"]) == sum(
                n for t, n in sent if t > fake.clock.now() - timedelta(hours=1)
            )


def _huawei_link(fake: huawei_fake.HuaweiFake) -> int:
    principal, site_id, _ = _operator_site()
    credentials = {"userName": huawei_fake.USER, "systemCode": huawei_fake.SYSTEM_CODE}
    with session_scope() as db:
        return service.link(db, principal, site_id, "huawei", credentials, [System(huawei_fake.PLANT, "")])[
            "id"
        ]


async def test_huawei_history_quota_outlives_poller_restarts(database: str) -> None:
    """Every poll in a new poller process (the in-memory sessions and ledgers forgotten) while the cloud
    refuses the hourly history: each poll owes the hours again, yet Huawei's 24 calls a day hold, because
    the calls are spent in the link's stored ledger."""
    huawei_fake.reset_sessions()
    with huawei_fake.HuaweiFake(start=datetime(2026, 6, 1, 9, 0, tzinfo=UTC)) as fake:
        fake.production = lambda moment: 2000.0  # type: ignore[method-assign]
        fake.history_refused = True
        link_id = _huawei_link(fake)
        for _ in range(36):  # a poll every 5 minutes for 3 hours, each one by a fresh process
            huawei_fake.reset_sessions()
            report = await _force_poll(link_id, fake)
            assert report is not None and report.status == "connected", report
            fake.clock.advance(300)
        assert len(fake.history_calls) == 24, "the day's 24 calls, not one a poll"
        with session_scope() as db:
            row = db.get(SiteInverter, link_id)
            assert row is not None and len(row.ledger["history"]) == 24
    huawei_fake.reset_sessions()


async def test_huawei_history_cursor_outlives_poller_restarts(database: str) -> None:
    """A restarted poller asks the hourly history from where the old one stopped: never again for the hours
    it read, and for the hour it owes as soon as that hour is complete."""
    start = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    huawei_fake.reset_sessions()
    with huawei_fake.HuaweiFake(start=start) as fake:
        fake.production = lambda moment: 2000.0  # type: ignore[method-assign]
        link_id = _huawei_link(fake)
        await _force_poll(link_id, fake)  # the day before (all its hours)
        fake.clock.advance(300)
        await _force_poll(link_id, fake)  # today's complete hours, up to 09:00
        assert len(fake.history_calls) == 2
        for _ in range(6):  # restarts inside the running hour: nothing owed, nothing asked
            huawei_fake.reset_sessions()
            fake.clock.advance(300)
            await _force_poll(link_id, fake)
        assert len(fake.history_calls) == 2, "a restarted poller does not re-read the hours it has"
        fake.clock.advance(30 * 60)  # 10:05: the 09:00 hour is complete and owed
        huawei_fake.reset_sessions()
        await _force_poll(link_id, fake)
        assert len(fake.history_calls) == 3, "it asks for the hour it owes"
        with session_scope() as db:
            site_id = db.get(SiteInverter, link_id).site_id  # type: ignore[union-attr]
        assert set(_pv(site_id, start, start + timedelta(hours=1)).values()) == {2000.0}
    huawei_fake.reset_sessions()
