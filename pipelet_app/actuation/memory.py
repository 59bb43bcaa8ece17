"""Where a site's loop memory lives between owners: one row per site in `surplus_loop_memory`.

The owner writes it when `domain.surplus.saved.save_due` says (before a cycle sends anything, without the
slots about to be sent: see `loop.run_cycle`; on a material change; else once a minute); a worker that wins
the site's lease reads it once and continues from it (`domain.surplus.saved.restore`: stale or foreign-
shaped memory is discarded there). The table is in the database both deployments share, beside the lease it
follows (`site_surplus.owner`), so the embedded default (SQLite) and scale-out (PostgreSQL, Redis only for
the command bus) use the same store.

A write is fenced by the lease: only the worker that `site_surplus.owner` names may write, so a slow
former owner that lost the lease mid-cycle cannot overwrite its successor's memory. Check and write are
one statement (see `save`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import literal
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from pipelet_app.db import session_scope
from pipelet_app.db.models import SiteSurplus, SurplusLoopMemory
from pipelet_app.domain.surplus.saved import LoopMemory, encode

TABLE = SurplusLoopMemory.__table__  # type: ignore[attr-defined]


def save(site_id: int, owner: str, loop: LoopMemory, now: datetime) -> bool:
    """Store the site's loop memory if `owner` still holds the site; False when it does not.

    One statement, so nothing can change hands between the check and the write: the row to insert is
    selected from the site's lease row only while `owner` holds it (`INSERT ... SELECT ... WHERE owner`),
    and an existing row is updated through the same guard (`ON CONFLICT DO UPDATE`). On PostgreSQL the
    lease row is read `FOR SHARE`, so a claim committing meanwhile either waits for this write (and its
    successor reads it) or is seen (and this write is refused); SQLite has one writer at a time anyway.
    """
    with session_scope() as db:
        return save_in(db, site_id, owner, loop, now)


def save_in(db: Session, site_id: int, owner: str, loop: LoopMemory, now: datetime) -> bool:
    """`save` in the caller's transaction: several sites' memories under one commit (the commit's WAL
    flush, not the statement, is most of a lone write's time: benchmarks/loop_memory)."""
    data = encode(loop, now)
    insert = postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    held = (
        select(
            col(SiteSurplus.site_id),
            literal(owner, TABLE.c.owner.type),
            literal(now, TABLE.c.saved_utc.type),
            literal(data, TABLE.c.memory.type),
        )
        .where(col(SiteSurplus.site_id) == site_id, col(SiteSurplus.owner) == owner)
        .with_for_update(read=True)
    )
    stmt = insert(TABLE).from_select(["site_id", "owner", "saved_utc", "memory"], held)
    written = db.execute(
        stmt.on_conflict_do_update(
            index_elements=["site_id"],
            set_={
                "owner": stmt.excluded.owner,
                "saved_utc": stmt.excluded.saved_utc,
                "memory": stmt.excluded.memory,
            },
        ).returning(TABLE.c.site_id)
    ).first()
    # RETURNING, not rowcount: SQLAlchemy reports -1 for an INSERT's rowcount on psycopg (it keeps
    # rowcount only for UPDATE/DELETE), which read as "written" for a refused write
    return written is not None


def load(site_id: int) -> Any:
    """The site's saved loop memory as stored (JSON types), or None."""
    with session_scope() as db:
        return db.exec(select(SurplusLoopMemory.memory).where(SurplusLoopMemory.site_id == site_id)).first()


__all__ = ["load", "save", "save_in"]
