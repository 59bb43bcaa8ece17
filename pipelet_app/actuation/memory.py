"""Where a site's loop memory lives between owners: one row per site in `surplus_loop_memory`.

The owner writes it after each cycle (and, before a cycle sends anything, without the slots about to be
sent: see `loop.run_cycle`); a worker that wins the site's lease reads it once and continues from it
(`domain.surplus.saved.restore`: stale or foreign-shaped memory is discarded there). The table is in the
database both deployments share, beside the lease it follows (`site_surplus.owner`), so the embedded
default (SQLite) and scale-out (PostgreSQL, Redis only for the command bus) use the same store.

A write is fenced by the lease: only the worker that `site_surplus.owner` names may write, so a slow
former owner that lost the lease mid-cycle cannot overwrite its successor's memory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from pipelet_app.db import session_scope
from pipelet_app.db.models import SiteSurplus, SurplusLoopMemory
from pipelet_app.domain.surplus.saved import LoopMemory, encode

TABLE = SurplusLoopMemory.__table__  # type: ignore[attr-defined]


def save(site_id: int, owner: str, loop: LoopMemory, now: datetime) -> bool:
    """Store the site's loop memory if `owner` still holds the site; False when it does not."""
    data = encode(loop, now)
    with session_scope() as db:
        holder = db.exec(select(SiteSurplus.owner).where(SiteSurplus.site_id == site_id)).first()
        if holder != owner:
            return False
        insert = postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(TABLE).values(site_id=site_id, owner=owner, saved_utc=now, memory=data)
        still_ours = exists().where(col(SiteSurplus.site_id) == site_id, col(SiteSurplus.owner) == owner)
        result = db.execute(
            stmt.on_conflict_do_update(
                index_elements=["site_id"],
                set_={"owner": owner, "saved_utc": now, "memory": data},
                where=still_ours,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def load(site_id: int) -> Any:
    """The site's saved loop memory as stored (JSON types), or None."""
    with session_scope() as db:
        return db.exec(select(SurplusLoopMemory.memory).where(SurplusLoopMemory.site_id == site_id)).first()


__all__ = ["load", "save"]
