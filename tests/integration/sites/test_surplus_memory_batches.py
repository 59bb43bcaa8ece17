"""The Runner writes the loop memories of a batch of sites as one statement (`writer.MemoryWriter` ->
`memory.save_many`), on SQLite and PostgreSQL: a batch's write-aheads reach the database before any site
of the batch sends, a refused write (the lease changed hands) is not recorded as saved, and a worker's
cycle takes one statement per batch on PostgreSQL instead of one per site.

The sites here have no devices (their data is stale, nothing to send), so no charger is needed; where a
case needs a send, `_to_send` is made to report one slot per site and `_actuate` records what the
database holds when it is called.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from pipelet_app.actuation import loop
from pipelet_app.actuation.loop import Runner
from pipelet_app.db import session_scope
from pipelet_app.db.models import SiteSurplus, SurplusLoopMemory
from pipelet_app.db.types import utcnow
from tests.integration.sites.surplus_sites import sites, statements


def stored(site_id: int) -> SurplusLoopMemory | None:
    with session_scope() as db:
        return db.get(SurplusLoopMemory, site_id)


@pytest.fixture
def memory_writes(database: str) -> Iterator[list[str]]:
    """Every statement that writes `surplus_loop_memory`, as sent to the database."""
    with statements("INSERT INTO surplus_loop_memory") as seen:
        yield seen


async def test_a_batchs_write_aheads_are_written_in_one_statement_before_it_sends(
    database: str, memory_writes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop, "BATCH_SITES", 3)
    monkeypatch.setattr(loop, "_to_send", lambda *_: {("CP-X", 1, "tx/idle")})
    actuate = loop._actuate
    at_send: dict[int, datetime | None] = {}

    async def recording(view: Any, *args: Any) -> list[dict]:
        row = stored(view.site_id)
        at_send[view.site_id] = row.saved_utc if row else None
        return await actuate(view, *args)

    monkeypatch.setattr(loop, "_actuate", recording)
    ids = sites(5)
    t0 = utcnow()
    runner = Runner("worker-a")
    assert await runner.tick(t0) == 5
    assert at_send == {site_id: t0 for site_id in ids}  # each site's write-ahead was in before it sent
    postgres = database.startswith("postgresql")
    # two batches (3 + 2 sites): one statement each on PostgreSQL; SQLite writes site by site
    assert len(memory_writes) == (2 if postgres else 5)
    for site_id in ids:
        row = stored(site_id)
        assert row is not None and row.owner == "worker-a" and row.saved_utc == t0
        assert runner.sites[site_id].saved_utc == t0  # recorded as saved: no second write this cycle

    # a minute on, nothing sent: every site is due its periodic save; the first batch's ride with the
    # second batch's flush, the second batch's with the flush that ends the tick
    monkeypatch.setattr(loop, "_to_send", lambda *_: set())
    memory_writes.clear()
    t1 = t0 + timedelta(seconds=60)
    assert await runner.tick(t1) == 5
    assert len(memory_writes) == (2 if postgres else 5)
    assert all(stored(site_id).saved_utc == t1 for site_id in ids)  # type: ignore[union-attr]


async def test_a_site_whose_lease_moved_before_the_flush_is_not_recorded_as_saved(
    database: str, memory_writes: list[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """b claims one site after a read it (a's lease ran out meanwhile, say) but before a's batch is
    written: that site's row stays b's to write, a does not count it as saved, and the log says so."""
    mine, lost = sites(2)
    plan = loop.plan_cycle

    async def lease_moves(site_id: int, state: Any, now: datetime, *views: Any) -> Any:
        planned = await plan(site_id, state, now, *views)
        if site_id == lost:
            with session_scope() as db:
                db.execute(
                    update(SiteSurplus).where(col(SiteSurplus.site_id) == lost).values(owner="worker-b")
                )
        return planned

    monkeypatch.setattr(loop, "plan_cycle", lease_moves)
    runner = Runner("worker-a")
    t0 = utcnow()
    with caplog.at_level(logging.INFO, logger="pipelet.surplus"):
        assert await runner.tick(t0) == 2
    assert stored(lost) is None
    assert runner.sites[lost].saved is None and runner.sites[lost].saved_utc is None
    assert f"site {lost} not saved: worker-a no longer holds the site" in caplog.text
    row = stored(mine)
    assert row is not None and row.owner == "worker-a" and runner.sites[mine].saved_utc == t0
    assert len(memory_writes) == (1 if database.startswith("postgresql") else 2)  # SQLite: per site
