"""The surplus loop's leases, a batch at a time (`lease.claim_many`), on SQLite and PostgreSQL: one UPDATE
leases exactly the sites it may (free, already ours, run out; not another owner's live lease, not a
disabled site), two workers racing for the same sites never both hold one, and the `Runner` renews a
batch with one statement.

The sites have no devices (their data is stale, nothing to send), so no charger is needed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from pipelet_app.actuation import loop
from pipelet_app.actuation.lease import claim, claim_many
from pipelet_app.actuation.loop import Runner
from pipelet_app.db import session_scope
from pipelet_app.db.models import SiteSurplus
from pipelet_app.db.types import utcnow
from tests.integration.sites.surplus_sites import sites, statements


def leases() -> dict[int, tuple[str | None, datetime | None]]:
    """Each site's (owner, lease end)."""
    with session_scope() as db:
        rows = db.exec(select(SiteSurplus.site_id, SiteSurplus.owner, SiteSurplus.lease_until_utc)).all()
        return {site_id: (owner, until) for site_id, owner, until in rows}


@pytest.fixture
def lease_updates(database: str) -> Iterator[list[str]]:
    """Every UPDATE of `site_surplus`, as sent to the database."""
    with statements("UPDATE site_surplus") as seen:
        yield seen


@pytest.mark.parametrize("mixed", [False, True], ids=["one-interval", "mixed-intervals"])
def test_one_statement_leases_exactly_the_sites_it_may(
    database: str, lease_updates: list[str], mixed: bool
) -> None:
    now = utcnow()
    (free,) = sites(1)
    (own,) = sites(1, owner="worker-a", lease_until_utc=now + timedelta(seconds=20))
    (taken,) = sites(1, owner="worker-b", lease_until_utc=now + timedelta(seconds=20))
    (expired,) = sites(1, owner="worker-b", lease_until_utc=now - timedelta(seconds=1))
    (off,) = sites(1, enabled=False)
    lease_s = {free: 30.0, own: 60.0 if mixed else 30.0, taken: 30.0, expired: 90.0 if mixed else 30.0}
    lease_s[off] = 30.0
    before = leases()

    leased = claim_many(lease_s.items(), "worker-a", now)

    assert leased == {free, own, expired}
    assert len(lease_updates) == 1  # the whole batch, whatever the lease lengths
    after = leases()
    for site_id in leased:  # each site ends its own lease length from now
        assert after[site_id] == ("worker-a", now + timedelta(seconds=lease_s[site_id]))
    assert after[taken] == before[taken] == ("worker-b", now + timedelta(seconds=20))
    assert after[off] == before[off] == (None, None)
    assert claim_many([], "worker-a", now) == set()


def test_another_owners_live_lease_is_not_taken_until_it_runs_out(database: str) -> None:
    """The owner condition: worker-b does not get worker-a's sites while their leases live (dropping the
    condition, or the lease-end test, hands them over), and does once they ran out."""
    now = utcnow()
    ids = sites(3)
    assert claim_many([(s, 30.0) for s in ids], "worker-a", now) == set(ids)
    assert claim_many([(s, 30.0) for s in ids], "worker-b", now + timedelta(seconds=29)) == set()
    assert not claim(ids[0], "worker-b", now + timedelta(seconds=29), 30)
    assert {owner for owner, _ in leases().values()} == {"worker-a"}
    # worker-a renews one at 20 s: only that one still lives at 40 s
    assert claim(ids[0], "worker-a", now + timedelta(seconds=20), 30)
    later = now + timedelta(seconds=40)
    assert claim_many([(s, 30.0) for s in ids], "worker-b", later) == set(ids[1:])
    assert leases()[ids[0]][0] == "worker-a"


def test_two_workers_racing_for_the_same_sites_never_both_hold_one(database: str) -> None:
    """Each round every lease has run out and both workers claim all 50 sites at once (threads, one
    statement each, in opposite orders): every site goes to exactly one of them."""
    ids = sites(50)
    t0 = utcnow()
    for round_ in range(8):
        now = t0 + timedelta(seconds=100 * round_)  # the last round's 30 s leases have run out
        start = threading.Barrier(2)
        won: dict[str, set[int]] = {}

        def race(owner: str, order: list[int], now: datetime, start: threading.Barrier, won: dict) -> None:
            start.wait()
            won[owner] = claim_many([(s, 30.0) for s in order], owner, now)

        threads = [
            threading.Thread(target=race, args=("worker-a", ids, now, start, won)),
            threading.Thread(target=race, args=("worker-b", ids[::-1], now, start, won)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert set(won) == {"worker-a", "worker-b"}, "a claim failed (see the thread's traceback)"
        assert not won["worker-a"] & won["worker-b"]
        assert won["worker-a"] | won["worker-b"] == set(ids)
        held = leases()
        assert all(held[s][0] == owner for owner, got in won.items() for s in got)


async def test_two_runners_share_the_sites_and_renew_a_batch_in_one_statement(
    database: str, lease_updates: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop, "BATCH_SITES", 20)
    ids = sites(50)
    a, b = Runner("worker-a"), Runner("worker-b")
    t0 = utcnow()
    for round_ in range(3):
        now = t0 + timedelta(seconds=100 * round_)  # every lease has run out: both race for all 50
        lease_updates.clear()
        ran = await asyncio.gather(a.tick(now), b.tick(now))
        assert sum(ran) == 50
        assert not set(a.sites) & set(b.sites)  # a site lost in the race is dropped from `sites`
        assert set(a.sites) | set(b.sites) == set(ids)
        assert len(lease_updates) == 2 * 3  # per runner one UPDATE per batch (20 + 20 + 10 sites)
        held = leases()
        assert all(held[s][0] == "worker-a" for s in a.sites)
        assert all(held[s][0] == "worker-b" for s in b.sites)
    # 10 s on, both renew what they hold and take nothing of the other's
    mine = set(a.sites)
    now = t0 + timedelta(seconds=210)
    assert sum(await asyncio.gather(a.tick(now), b.tick(now))) == 50
    assert set(a.sites) == mine


async def test_a_full_runner_claims_no_more_sites_than_it_may_run(
    database: str, lease_updates: list[str]
) -> None:
    ids = sites(5)
    runner = Runner("worker-a", max_sites=3)
    assert await runner.tick(utcnow()) == 3
    assert len(runner.sites) == 3 and set(runner.sites) <= set(ids)
    assert {s for s, (owner, _) in leases().items() if owner == "worker-a"} == set(runner.sites)
    assert len(lease_updates) == 1
