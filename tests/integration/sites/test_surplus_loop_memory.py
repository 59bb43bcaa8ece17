"""The surplus loop memory's fenced write (`actuation.memory.save`, and `save_many` for a batch of sites)
on SQLite and PostgreSQL: only the worker that holds the site's lease writes, in one statement, so a lease
that changes hands during the write cannot let the former owner overwrite its successor's memory."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from pipelet_app.actuation.lease import claim
from pipelet_app.actuation.memory import save, save_many
from pipelet_app.db import get_engine, session_scope
from pipelet_app.db.models import Site, SiteSurplus, SurplusLoopMemory, Tenant, TenantKind
from pipelet_app.db.types import utcnow
from pipelet_app.domain.surplus.model import ControllerMemory
from pipelet_app.domain.surplus.saved import LoopMemory


def leased_site(owner: str | None) -> int:
    """A site whose controller is on and whose lease `owner` holds (None: nobody)."""
    with session_scope() as db:
        tenant = Tenant(name="Sun", slug=f"sun-{uuid.uuid4().hex[:8]}", kind=TenantKind.OPERATOR)
        db.add(tenant)
        db.flush()
        site = Site(tenant_id=tenant.id, name="Roof")
        db.add(site)
        db.flush()
        assert site.id is not None
        lease = utcnow() + timedelta(seconds=30) if owner else None
        db.add(SiteSurplus(site_id=site.id, enabled=True, owner=owner, lease_until_utc=lease))
        return site.id


def stored(site_id: int) -> SurplusLoopMemory | None:
    with session_scope() as db:
        return db.get(SurplusLoopMemory, site_id)


def memory(mark: int) -> LoopMemory:
    """A memory told apart from others by `mark`, its one PV sample's time."""
    return LoopMemory(ControllerMemory(pv_history=((float(mark), 0.0, 0.0),)))


def mark(row: SurplusLoopMemory | None) -> int:
    assert row is not None
    return int(row.memory["pv_history"][0][0])


async def test_the_owner_inserts_then_updates_its_memory(database: str) -> None:
    site_id = leased_site("worker-a")
    t0 = utcnow()
    assert save(site_id, "worker-a", memory(1), t0)
    first = stored(site_id)
    assert first is not None and first.owner == "worker-a" and first.saved_utc == t0
    assert mark(first) == 1
    assert save(site_id, "worker-a", memory(2), t0 + timedelta(seconds=10))
    second = stored(site_id)
    assert second is not None and second.saved_utc == t0 + timedelta(seconds=10)
    assert mark(second) == 2


async def test_a_non_owner_cannot_write_a_first_memory(database: str) -> None:
    """The insert is fenced too: a worker that never held the site (or a site nobody leases) gets no row."""
    site_id = leased_site("worker-a")
    assert not save(site_id, "worker-b", memory(1), utcnow())
    assert stored(site_id) is None
    nobody = leased_site(None)
    assert not save(nobody, "worker-a", memory(1), utcnow())
    assert stored(nobody) is None


async def test_a_former_owner_cannot_overwrite_its_successors_memory(database: str) -> None:
    site_id = leased_site("worker-a")
    t0 = utcnow()
    assert save(site_id, "worker-a", memory(1), t0)
    assert claim(site_id, "worker-b", t0 + timedelta(seconds=60), 30)  # a's lease ran out, b took it
    assert save(site_id, "worker-b", memory(2), t0 + timedelta(seconds=61))
    assert not save(site_id, "worker-a", memory(3), t0 + timedelta(seconds=62))
    row = stored(site_id)
    assert row is not None and row.owner == "worker-b" and mark(row) == 2


async def test_a_lease_changing_hands_during_the_write_refuses_it(database: str) -> None:
    """b's claim is written but not yet committed when a saves: a's write waits for it and is refused,
    instead of reading the lease as it was before b's claim and writing after b has restored."""
    site_id = leased_site("worker-a")
    t0 = utcnow()
    with Session(get_engine()) as claiming:
        claiming.execute(
            update(SiteSurplus).where(col(SiteSurplus.site_id) == site_id).values(owner="worker-b")
        )
        result: list[bool] = []
        writer = threading.Thread(target=lambda: result.append(save(site_id, "worker-a", memory(1), t0)))
        writer.start()
        writer.join(1.0)
        assert writer.is_alive()  # the write waits for the claim's transaction
        claiming.commit()
    writer.join(15)
    assert result == [False]
    assert stored(site_id) is None


async def test_a_batch_inserts_then_updates_every_owned_site(database: str) -> None:
    """One call for many sites (one statement on PostgreSQL): each row its own memory and time; the same
    batch again is an update of the same rows, not a second row."""
    sites = [leased_site("worker-a") for _ in range(3)]
    t0 = utcnow()
    batch = [(site_id, memory(n), t0 + timedelta(seconds=n)) for n, site_id in enumerate(sites)]
    assert save_many("worker-a", batch) == set(sites)
    assert save_many("worker-a", batch) == set(sites)  # idempotent: the same rows again
    for n, site_id in enumerate(sites):
        row = stored(site_id)
        assert row is not None and row.owner == "worker-a" and mark(row) == n
        assert row.saved_utc == t0 + timedelta(seconds=n)
    with session_scope() as db:
        assert len(db.exec(select(SurplusLoopMemory.site_id)).all()) == 3
    assert save_many("worker-a", [(sites[1], memory(7), t0 + timedelta(seconds=20))]) == {sites[1]}
    assert mark(stored(sites[1])) == 7 and mark(stored(sites[0])) == 0


async def test_a_batch_with_mixed_owners_writes_only_the_sites_it_holds(database: str) -> None:
    """A site another worker holds (its row untouched), one nobody leases, and one this worker lost since
    its last write: none is written, and the answer leaves them out, so the loop sees the refusal."""
    t0 = utcnow()
    mine, theirs, nobodys, lost = (leased_site(o) for o in ("worker-a", "worker-b", None, "worker-a"))
    assert save(theirs, "worker-b", memory(20), t0)
    assert save(lost, "worker-a", memory(30), t0)
    assert claim(lost, "worker-b", t0 + timedelta(seconds=60), 30)  # a's lease ran out, b took it
    assert save(lost, "worker-b", memory(31), t0 + timedelta(seconds=61))
    batch = [
        (site_id, memory(40 + n), t0 + timedelta(seconds=62))
        for n, site_id in enumerate((mine, theirs, nobodys, lost))
    ]
    assert save_many("worker-a", batch) == {mine}
    assert mark(stored(mine)) == 40
    theirs_row, lost_row = stored(theirs), stored(lost)
    assert theirs_row is not None and theirs_row.owner == "worker-b" and mark(theirs_row) == 20
    assert lost_row is not None and lost_row.owner == "worker-b" and mark(lost_row) == 31
    assert stored(nobodys) is None


async def test_a_batch_names_a_site_twice_and_the_last_memory_wins(database: str) -> None:
    """PostgreSQL's upsert may touch a row once per statement; the batch keeps a site's last entry."""
    site_id = leased_site("worker-a")
    t0 = utcnow()
    later = t0 + timedelta(seconds=10)
    assert save_many("worker-a", [(site_id, memory(1), t0), (site_id, memory(2), later)]) == {site_id}
    row = stored(site_id)
    assert row is not None and mark(row) == 2 and row.saved_utc == later
    assert save_many("worker-a", []) == set()


async def test_a_lease_changing_hands_during_a_batch_refuses_that_site_only(database: str) -> None:
    """As for one site: b's claim of one site is written but not committed when a saves its batch; a's
    statement waits for it, writes a's other site and refuses the claimed one."""
    claimed, kept = leased_site("worker-a"), leased_site("worker-a")
    t0 = utcnow()
    with Session(get_engine()) as claiming:
        claiming.execute(
            update(SiteSurplus).where(col(SiteSurplus.site_id) == claimed).values(owner="worker-b")
        )
        result: list[set[int]] = []
        batch = [(claimed, memory(1), t0), (kept, memory(2), t0)]
        writer = threading.Thread(target=lambda: result.append(save_many("worker-a", batch)))
        writer.start()
        writer.join(1.0)
        assert writer.is_alive()  # the batch waits for the claim's transaction
        claiming.commit()
    writer.join(15)
    assert result == [{kept}]
    assert stored(claimed) is None and mark(stored(kept)) == 2
