"""A worker taking sites over (its first start, or another worker died and its leases ran out) restores
the loop memories of a batch's newly leased sites with ONE read of `surplus_loop_memory`
(`loop.take_over_many` -> `memory.load_many`), not one per site, on SQLite and PostgreSQL; each site
still continues from exactly what its own row held, by the rules of `domain.surplus.saved.restore`
(fresh: whole; older than `MAX_AGE`: the lockouts only; no row: blank).

The sites have no devices (their data is stale, nothing to send), so no charger is needed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from pipelet_app.actuation import loop
from pipelet_app.actuation.loop import Runner, take_over, take_over_many
from pipelet_app.actuation.memory import save
from pipelet_app.actuation.site_loop import SiteLoop
from pipelet_app.db.types import utcnow
from pipelet_app.domain.surplus.actuation import Sent
from pipelet_app.domain.surplus.model import ControllerMemory
from pipelet_app.domain.surplus.saved import MAX_AGE, LoopMemory, lockouts_only
from tests.integration.sites.surplus_sites import sites, statements


def memory_of(site_id: int, now: datetime) -> LoopMemory:
    """A memory only `site_id` has: its own PV sample, slot, lift state and hold clock."""
    return LoopMemory(
        ControllerMemory(pv_history=((float(site_id), 0.0, 0.0),)),
        {(f"CP-{site_id}", 1, "base"): Sent(float(site_id), "A", None, "Accepted")},
        lifted=site_id % 2 == 0,
        lift_low_since=now - timedelta(seconds=site_id % 50),
    )


@pytest.fixture
def memory_reads(database: str) -> Iterator[list[str]]:
    """Every SELECT that reads `surplus_loop_memory`, as sent to the database."""
    with statements("SELECT") as seen:
        yield seen


def reads(seen: list[str]) -> list[str]:
    return [statement for statement in seen if "FROM surplus_loop_memory" in statement]


def dead_owners_sites(now: datetime) -> tuple[dict[int, datetime], int, int]:
    """Sites a dead worker held (their leases ran out a second ago): three saved a memory of their own
    recently (by site: when), one long ago (stale), one never (no row)."""
    ids = sites(5, owner="worker-dead", lease_until_utc=now - timedelta(seconds=1))
    *fresh_ids, stale, blank = ids
    fresh = {site_id: now - timedelta(seconds=10 * (n + 1)) for n, site_id in enumerate(fresh_ids)}
    for site_id, at in fresh.items():
        assert save(site_id, "worker-dead", memory_of(site_id, at), at)
    long_ago = now - MAX_AGE - timedelta(minutes=1)
    assert save(stale, "worker-dead", memory_of(stale, long_ago), long_ago)
    return fresh, stale, blank


def assert_restored(state: SiteLoop, site_id: int, at: datetime, owner: str) -> None:
    saved = memory_of(site_id, at)
    assert state.owner == owner and state.restored_from == at
    assert (state.memory, state.sent) == (saved.memory, saved.sent)
    assert (state.lifted, state.lift_low_since) == (saved.lifted, saved.lift_low_since)


def assert_blank(state: SiteLoop, owner: str, memory: ControllerMemory | None = None) -> None:
    assert state.owner == owner and state.restored_from is None
    assert (state.memory, state.sent) == (memory or ControllerMemory(), {})
    assert (state.lifted, state.lift_low_since) == (False, None)


async def test_a_batchs_new_sites_are_restored_with_one_read_each_from_its_own_row(
    database: str, memory_reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = utcnow()
    fresh, stale, blank = dead_owners_sites(now)
    first: dict[int, SiteLoop] = {}  # each site's state as its first cycle under b starts
    plan = loop.plan_cycle

    async def seen(site_id: int, state: SiteLoop, *args: Any) -> Any:
        first.setdefault(site_id, copy.deepcopy(state))
        return await plan(site_id, state, *args)

    monkeypatch.setattr(loop, "plan_cycle", seen)
    memory_reads.clear()
    runner = Runner("worker-b")
    assert await runner.tick(now) == 5

    assert len(reads(memory_reads)) == 1  # the batch's five new sites, not one read each
    for site_id, at in fresh.items():
        assert_restored(first[site_id], site_id, at, "worker-b")
    assert_blank(first[stale], "worker-b", lockouts_only(memory_of(stale, now).memory))
    assert_blank(first[blank], "worker-b")

    memory_reads.clear()  # held sites are not taken over again
    assert await runner.tick(now + timedelta(seconds=10)) == 5
    assert reads(memory_reads) == []


def test_take_over_many_restores_each_site_from_its_own_row_and_take_over_agrees(
    database: str, memory_reads: list[str]
) -> None:
    now = utcnow()
    fresh, stale, blank = dead_owners_sites(now)
    memory_reads.clear()
    taken = take_over_many([*fresh, stale, blank], "worker-b", now)
    assert len(reads(memory_reads)) == 1
    assert list(taken) == [*fresh, stale, blank]
    for site_id, at in fresh.items():
        assert_restored(taken[site_id], site_id, at, "worker-b")
        assert take_over(site_id, "worker-b", now) == taken[site_id]  # the one-site form: same answer
    assert_blank(taken[stale], "worker-b", lockouts_only(memory_of(stale, now).memory))
    assert_blank(taken[blank], "worker-b")
    assert take_over(blank, "worker-b", now) == taken[blank]
    assert take_over_many([], "worker-b", now) == {}
