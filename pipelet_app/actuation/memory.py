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

A worker's saves of one batch of sites go as one statement too (`save_many`: on PostgreSQL one
`INSERT ... SELECT` over all of them, fenced the same way; on SQLite the single-site statement per site in
one transaction): at 10,000 sites one statement per site does not fit the 10 s period, one per worker and
batch does (benchmarks/loop_memory).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, Text, bindparam, cast, func, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from pipelet_app.db import session_scope
from pipelet_app.db.models import SiteSurplus, SurplusLoopMemory
from pipelet_app.domain.surplus.saved import LoopMemory, encode

TABLE = SurplusLoopMemory.__table__  # type: ignore[attr-defined]
LEASES = SiteSurplus.__table__  # type: ignore[attr-defined]


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
    written = db.execute(_upsert(insert, held)).first()
    # RETURNING, not rowcount: SQLAlchemy reports -1 for an INSERT's rowcount on psycopg (it keeps
    # rowcount only for UPDATE/DELETE), which read as "written" for a refused write
    return written is not None


def _upsert(insert: Any, held: Any) -> Any:
    """The fenced write both `save_in` and `save_many_in` run: insert the (site, owner, time, memory)
    rows `held` selects from the leases this owner holds, replace what is there, and return the site ids
    written."""
    stmt = insert(TABLE).from_select(["site_id", "owner", "saved_utc", "memory"], held)
    return stmt.on_conflict_do_update(
        index_elements=["site_id"],
        set_={
            "owner": stmt.excluded.owner,
            "saved_utc": stmt.excluded.saved_utc,
            "memory": stmt.excluded.memory,
        },
    ).returning(TABLE.c.site_id)


def save_many(owner: str, memories: Sequence[tuple[int, LoopMemory, datetime]]) -> set[int]:
    """Store each (site, memory, time) whose site `owner` still holds, in one transaction; the sites written.

    A site named twice is written once, with its last memory. See `save_many_in`.
    """
    with session_scope() as db:
        return save_many_in(db, owner, memories)


def save_many_in(db: Session, owner: str, memories: Sequence[tuple[int, LoopMemory, datetime]]) -> set[int]:
    """`save` for many sites at once, with the same fence per site: a site whose lease `owner` does not
    hold is not written and is missing from the answer (RETURNING, as in `save_in`).

    PostgreSQL: ONE statement for the batch. The memories travel as three arrays (site ids, times, JSON
    text) that `unnest` turns into rows; these are joined to the lease rows `WHERE owner = owner` (read
    `FOR SHARE`, as in `save_in`) and upserted. One statement instead of one per site is what makes the
    writes of 10,000 sites fit the 10 s period (benchmarks/loop_memory). SQLite (the embedded default, a
    few sites, one writer at a time): `save_in` per site in the caller's one transaction.
    """
    last = {site_id: (loop, saved_utc) for site_id, loop, saved_utc in memories}
    if not last:
        return set()
    if db.get_bind().dialect.name != "postgresql":
        return {site_id for site_id, (loop, at) in last.items() if save_in(db, site_id, owner, loop, at)}
    # ON CONFLICT DO UPDATE may touch a row only once per statement: one entry per site (`last`)
    sites = sorted(last)  # the lease rows are locked in site order, like any other batch writer
    texts = [json.dumps(encode(last[site_id][0], last[site_id][1])) for site_id in sites]
    times = [_naive_utc(last[site_id][1]) for site_id in sites]
    due = (
        func.unnest(
            bindparam("site_ids", sites, type_=ARRAY(Integer)),
            bindparam("saved_utcs", times, type_=ARRAY(DateTime())),
            bindparam("memories", texts, type_=ARRAY(Text)),
        )
        .table_valued("site_id", "saved_utc", "memory", name="due")
        .render_derived()
    )
    held = (
        select(
            col(SiteSurplus.site_id),
            literal(owner, TABLE.c.owner.type),
            due.c.saved_utc,
            cast(due.c.memory, JSON),
        )
        .join_from(SiteSurplus, due, due.c.site_id == col(SiteSurplus.site_id))
        .where(col(SiteSurplus.owner) == owner)
        .with_for_update(read=True, of=LEASES)
    )
    written = db.execute(_upsert(postgresql_insert, held)).scalars()
    return {int(site_id) for site_id in written}


def _naive_utc(at: datetime) -> datetime:
    """What `UTCDateTime` stores (naive UTC): array elements bypass the column type."""
    if at.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return at.astimezone(UTC).replace(tzinfo=None)


def load(site_id: int) -> Any:
    """The site's saved loop memory as stored (JSON types), or None."""
    return load_many([site_id]).get(site_id)


def load_many(site_ids: Collection[int]) -> dict[int, Any]:
    """The saved loop memory of each of `site_ids` that has one, as stored (JSON types), by site; a site
    without a row is missing.

    ONE statement for all of them (`WHERE site_id IN (...)`): a worker taking over a batch of sites
    (its first start, or another worker died) reads their memories together, not one query per site
    (9.6 s per 10,000 sites that way: benchmarks/surplus_loop). Like `load`, the read is by site only,
    not fenced by the lease: the caller has just won these leases (`lease.claim_many`), and what it
    writes back is fenced (`save`, `save_many`)."""
    wanted = sorted(set(site_ids))
    if not wanted:
        return {}
    with session_scope() as db:
        rows = db.exec(
            select(SurplusLoopMemory.site_id, SurplusLoopMemory.memory).where(
                col(SurplusLoopMemory.site_id).in_(wanted)
            )
        ).all()
        return {int(site_id): data for site_id, data in rows}


__all__ = ["load", "load_many", "save", "save_in", "save_many", "save_many_in"]
