"""Who runs a site's surplus loop: a lease on the site's `site_surplus` row (`owner`, `lease_until_utc`).

A worker leases a site for three of its intervals and renews the lease every cycle; one that dies leaves
a lease that runs out, and another worker takes the site over (`loop.Runner`). The lease may be taken
when the site's controller is on and nobody holds it, the taker holds it already (a renewal), or the
holder's lease ran out.

A worker's `Runner` renews the sites of a batch (`loop.BATCH_SITES`) together: ONE UPDATE for the batch
(`claim_many`) instead of one statement, transaction and thread hop per site. At 10,000 sites on a 10 s
cycle one per site is 1,000 statements/s, more than the ~330-510 single-row fenced statements/s this
box managed (benchmarks/loop_memory, forms `claim` and `claim_many`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, literal, or_, update
from sqlmodel import Session, col, select

from pipelet_app.db import session_scope
from pipelet_app.db.models import SiteSurplus

LEASES = SiteSurplus.__table__  # type: ignore[attr-defined]
#: a lease lasts this many of the site's intervals, so one missed cycle does not hand the site over
LEASE_INTERVALS = 3


def claim(site_id: int, owner: str, now: datetime, lease_s: float) -> bool:
    """Lease the site's loop to `owner` unless another owner holds a live lease (`claim_many` of one)."""
    return site_id in claim_many([(site_id, lease_s)], owner, now)


def claim_many(sites: Iterable[tuple[int, float]], owner: str, now: datetime) -> set[int]:
    """Lease each (site id, lease seconds) to `owner` where it may (see the module); the sites leased.

    One statement, in its own transaction. See `claim_many_in`."""
    with session_scope() as db:
        return claim_many_in(db, sites, owner, now)


def claim_many_in(db: Session, sites: Iterable[tuple[int, float]], owner: str, now: datetime) -> set[int]:
    """`claim_many` in the caller's transaction.

    ONE UPDATE for all the sites, whatever their lease lengths (a CASE gives each site its own end when
    they differ). The answer is what the UPDATE returned (RETURNING site_id on PostgreSQL and SQLite),
    never the rowcount: psycopg's -1 once read as "written" for a refused write (`memory.save_in`).

    The rows are locked in site order (`SELECT ... ORDER BY site_id FOR NO KEY UPDATE` inside the
    UPDATE), as `memory.save_many` locks them: two workers' batches that overlap wait for each other
    instead of deadlocking on rows taken in different orders. Under READ COMMITTED a row another worker
    leased meanwhile is checked again once its lock is free, so two workers never both get it. SQLite
    has one writer at a time and ignores the lock clause.
    """
    lease_s = dict(sites)
    if not lease_s:
        return set()
    until = {site_id: now + timedelta(seconds=seconds) for site_id, seconds in lease_s.items()}
    leasable = (
        select(col(SiteSurplus.site_id))
        .where(
            col(SiteSurplus.site_id).in_(sorted(until)),
            col(SiteSurplus.enabled).is_(True),
            or_(
                col(SiteSurplus.owner).is_(None),
                col(SiteSurplus.owner) == owner,
                col(SiteSurplus.lease_until_utc).is_(None),
                col(SiteSurplus.lease_until_utc) < now,
            ),
        )
        .order_by(col(SiteSurplus.site_id))
        .with_for_update(key_share=True)
    )
    leased = db.execute(
        update(SiteSurplus)
        .where(col(SiteSurplus.site_id).in_(leasable.scalar_subquery()))
        .values(owner=owner, lease_until_utc=_ends(until))
        .returning(col(SiteSurplus.site_id))
    ).scalars()
    return {int(site_id) for site_id in leased}


def _ends(until: dict[int, datetime]) -> Any:
    """The new `lease_until_utc`: one value when the sites share a lease length (the usual batch: one
    interval), else a CASE with one branch per length."""
    by_end: dict[datetime, list[int]] = {}
    for site_id, end in until.items():
        by_end.setdefault(end, []).append(site_id)
    if len(by_end) == 1:
        return next(iter(by_end))
    column_type = LEASES.c.lease_until_utc.type  # UTCDateTime: stored as naive UTC on both backends
    return case(
        *((col(SiteSurplus.site_id).in_(ids), literal(end, column_type)) for end, ids in by_end.items())
    )


__all__ = ["claim", "claim_many", "claim_many_in"]
