"""Group commit for charger messages: many chargers' effects in one transaction, each answered after it.

One commit per message costs an fsync (SQLite) or a round trip (PostgreSQL) per message and caps the
CSMS far below what the `ocpp` loop itself can do. Here every message's effect is a function of a
session; a writer task drains whatever is queued (up to `max_batch`), applies all of it in one
transaction on a worker thread, commits, and only then resolves each message's future, so "committed
before answered" still holds for every message.

If anything in a batch fails, the batch is rolled back and its functions are re-applied one per
transaction: the failing message gets its own error, the others are unaffected. Functions must
therefore be pure database work (no side effects outside the session).

SQLite takes one writer (it serialises writers anyway); PostgreSQL several, to overlap round trips.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Table, event, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from pipelet_app.db import session_scope

LOGGER = logging.getLogger("pipelet.csms.writer")
T = TypeVar("T")
Work = tuple[Callable[[Session], Any], asyncio.Future[Any]]


def defer_insert(db: Session, table: Table, row: dict[str, Any], *, skip_duplicates: bool = False) -> None:
    """Queue a row for one multi-row INSERT at commit (append-only logs: no ORM object per row).

    Queued rows are written by the `before_commit` hook below, or earlier by `flush_deferred` when a
    query in the same transaction must see them. `skip_duplicates`: a row that violates a unique index
    is not inserted (ON CONFLICT DO NOTHING), which makes re-delivered readings idempotent.
    """
    db.info.setdefault("pipelet_deferred", {}).setdefault((table, skip_duplicates), []).append(row)


def _insert(db: OrmSession, table: Table, skip_duplicates: bool) -> Any:
    if not skip_duplicates:
        return insert(table)
    if db.get_bind().dialect.name == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


def flush_deferred(db: OrmSession) -> None:
    pending: dict[tuple[Table, bool], list[dict[str, Any]]] = db.info.pop("pipelet_deferred", {})
    for (table, skip_duplicates), rows in pending.items():
        db.execute(_insert(db, table, skip_duplicates), rows)


@event.listens_for(OrmSession, "before_commit")
def _flush_before_commit(session: OrmSession) -> None:
    flush_deferred(session)


@event.listens_for(OrmSession, "after_rollback")
def _drop_after_rollback(session: OrmSession) -> None:
    session.info.pop("pipelet_deferred", None)


class BatchWriter:
    """`writers` queues, each drained by its own task; work with the same `key` (a charger id) always goes
    to the same queue, so two writers never update one charger's rows at once (no deadlocks between
    writers on PostgreSQL, and a charger's messages stay in order)."""

    def __init__(self, writers: int = 1, max_batch: int = 256) -> None:
        self.writers = max(1, writers)
        self.max_batch = max_batch
        self._queues: list[asyncio.Queue[Work]] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def pending(self) -> int:
        """Work queued and not yet picked up by a batch (a metric: the group commit falling behind)."""
        return sum(queue.qsize() for queue in self._queues)

    def start(self) -> None:
        self._queues = [asyncio.Queue() for _ in range(self.writers)]
        self._tasks = [asyncio.create_task(self._run(queue)) for queue in self._queues]

    async def stop(self) -> None:
        """Finish what is queued, then stop the writer tasks."""
        while self._tasks and any(not queue.empty() for queue in self._queues):
            await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def run(self, work: Callable[[Session], T], key: int = 0) -> T:
        """Apply `work(session)` in a committed transaction; returns its result or raises its error."""
        if not self._tasks:  # not started (e.g. used outside a server): plain transaction
            return await asyncio.to_thread(_apply_one_or_raise, work)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queues[key % self.writers].put_nowait((work, future))
        return await future

    async def _run(self, queue: asyncio.Queue[Work]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                outcomes = await asyncio.to_thread(_apply_batch, [work for work, _ in batch])
            except BaseException as exc:  # cancelled mid-batch: nobody may wait forever
                for _, future in batch:
                    if not future.done():
                        future.set_exception(
                            exc if isinstance(exc, Exception) else RuntimeError("writer stopped")
                        )
                raise
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)


def _apply_one_or_raise(work: Callable[[Session], T]) -> T:
    with session_scope() as db:
        return work(db)


def _apply_one(work: Callable[[Session], Any]) -> tuple[bool, Any]:
    try:
        return True, _apply_one_or_raise(work)
    except Exception as exc:
        return False, exc


def _apply_batch(works: list[Callable[[Session], Any]]) -> list[tuple[bool, Any]]:
    if len(works) == 1:
        return [_apply_one(works[0])]
    try:
        with session_scope() as db:
            results = [work(db) for work in works]
    except Exception:
        LOGGER.debug("batch of %d failed; applying one by one", len(works))
        return [_apply_one(work) for work in works]
    return [(True, result) for result in results]
