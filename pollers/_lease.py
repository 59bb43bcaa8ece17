"""The lease loop the account pollers share: ``pollers.pv``, ``.networks`` and ``.site_inverters``.

Each of them polls rows of its own table that carry ``next_poll_utc`` and ``lease_until_utc``: a due row is
leased with one conditional UPDATE (two workers never poll one row at once; a crashed worker's row is due
again once its lease runs out), polled with no transaction open, then stored in one transaction. The
tables differ, so the table and the extra "may be polled at all" conditions are arguments; what a poll
reads and stores stays in each poller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Table, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from pipelet_app.inverters.base import IntegrationError, InvalidCredentials, ReauthRequired, Throttled

R = TypeVar("R")


def _free(model: Any, now: datetime) -> Any:
    return or_(col(model.lease_until_utc).is_(None), col(model.lease_until_utc) < now)


def claim(db: Session, model: Any, row_id: int, now: datetime, lease_s: float, *ready: Any) -> bool:
    """Lease the row unless another worker holds a live lease (or ``ready`` says no). Atomic on both
    backends."""
    result = db.execute(
        update(model)
        .where(col(model.id) == row_id, *ready, _free(model, now))
        .values(lease_until_utc=now + timedelta(seconds=lease_s))
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def due(db: Session, model: Any, now: datetime, limit: int, *ready: Any) -> list[tuple[int, datetime]]:
    """(row id, its due time) of the rows to poll now, most overdue first; leased ones are skipped."""
    rows = db.exec(
        select(model.id, model.next_poll_utc)
        .where(
            *ready,
            col(model.next_poll_utc).is_not(None),
            col(model.next_poll_utc) <= now,
            _free(model, now),
        )
        .order_by(col(model.next_poll_utc))
        .limit(limit)
    ).all()
    return [(int(row_id), at) for row_id, at in rows if row_id is not None and at is not None]


async def poll_each(
    due_ids: Sequence[int],
    poll: Callable[[int], Awaitable[R | None]],
    *,
    concurrency: int,
    log: logging.Logger,
    what: str,
) -> list[R]:
    """Poll every due row in its own task, ``concurrency`` at a time. A poll that raises (database
    trouble) is logged and left: its lease lapses and the row comes back on a later tick."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(row_id: int) -> R | None:
        async with gate:
            return await poll(row_id)

    results = await asyncio.gather(*(one(row_id) for row_id in due_ids), return_exceptions=True)
    reports: list[R] = []
    for row_id, result in zip(due_ids, results, strict=True):
        if isinstance(result, BaseException):
            log.error("%s %s: poll failed: %s", what, row_id, type(result).__name__)
        elif result is not None:
            reports.append(result)
    return reports


def failure_status(error: Exception) -> str:
    """The status a failed poll shows (the values of ``PvStatus`` / ``NetworkStatus`` alike)."""
    if isinstance(error, InvalidCredentials | ReauthRequired):
        return "reauth-needed"  # polling waits for new credentials
    if isinstance(error, Throttled):
        return "throttled"
    if isinstance(error, IntegrationError):
        return "integration-error"
    return "error"


def insert(db: Session, table: Table) -> Any:
    """The dialect's INSERT (both have ``on_conflict_do_update``)."""
    return (postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)
