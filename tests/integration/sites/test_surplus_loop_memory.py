"""The surplus loop memory's fenced write (`actuation.memory.save`) on SQLite and PostgreSQL: only the
worker that holds the site's lease writes, in one statement, so a lease that changes hands during the
write cannot let the former owner overwrite its successor's memory."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from pipelet_app.actuation.loop import claim
from pipelet_app.actuation.memory import save
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
