"""The network poll job under both schedulers: the embedded lifespan task (woken by "sync now") and an arq
worker on Redis (the cron enqueues one job per due account)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from pipelet_app.auth import Principal
from pipelet_app.clock import utcnow
from pipelet_app.db import reset_engine, session_scope
from pipelet_app.db.models import NetworkAccount, User
from pipelet_app.runtime import jobs
from pipelet_app.services import networks as service
from tests import local_redis
from tests.fakes.networks import FakeHelios
from tests.integration.pv.test_runtime import arq_queue, redis_available, run_queued_jobs


@pytest.fixture
def helios(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHelios]:
    with FakeHelios() as fake:
        start = utcnow() - timedelta(hours=3)  # the app runs on the wall clock here
        fake.transactions[0].update(
            timestampStart=start.isoformat(), timestampStop=(start + timedelta(hours=1)).isoformat()
        )
        monkeypatch.setenv("HELIOS_API_BASE", fake.url)
        reset_engine()  # also clears the settings cache
        yield fake


def _connect(email: str, fake: FakeHelios, label: str = "") -> int:
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == email)).one()
        return int(service.save_account(db, Principal.of(user), "helios", label, fake.credentials())["id"])


def _account(account_id: int) -> NetworkAccount:
    with session_scope() as db:
        row = db.get(NetworkAccount, account_id)
        assert row is not None
        return row


async def test_embedded_scheduler_polls_and_sync_now_wakes_it(demo: dict, helios: FakeHelios) -> None:
    account_id = _connect("operator@sonnenstrom.demo", helios)
    task = asyncio.create_task(jobs.network_scheduler())
    try:
        for _ in range(150):
            await asyncio.sleep(0.1)
            if _account(account_id).last_poll_utc is not None:
                break
        first = _account(account_id)
        assert first.status == "connected" and first.sessions_synced == 1 and first.lease_until_utc is None
        with session_scope() as db:  # "sync now" makes it due; the wake-up beats the 30 s tick
            db.get(NetworkAccount, account_id).next_poll_utc = utcnow()  # type: ignore[union-attr]
        await jobs.request_network_poll(account_id)
        for _ in range(150):
            await asyncio.sleep(0.1)
            if _account(account_id).last_poll_utc != first.last_poll_utc:
                break
        assert _account(account_id).last_poll_utc != first.last_poll_utc
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_arq_worker_runs_the_cron_and_the_poll_job(
    database: str, demo: dict, helios: FakeHelios, monkeypatch: pytest.MonkeyPatch
) -> None:
    if reason := redis_available():
        pytest.skip(reason)
    url = local_redis.url(8 if database.startswith("sqlite") else 9)
    monkeypatch.setenv("REDIS_URL", url)
    reset_engine()
    await asyncio.wait_for(jobs.network_scheduler(), timeout=5)  # stands aside: the workers poll
    ids = [
        _connect("operator@sonnenstrom.demo", helios, "a"),
        _connect("operator@northwind.demo", helios, "b"),
    ]
    async with arq_queue(url) as ctx:
        assert await jobs.arq_schedule_due_networks(ctx) == 2
        assert await jobs.arq_schedule_due_networks(ctx) == 2, "still due: not yet polled"
        assert await ctx["redis"].zcard(ctx["queue_name"]) == 2, "one job per account and due time"
        worker = await run_queued_jobs(ctx)
        assert worker.jobs_complete == 2 and worker.jobs_failed == 0
        assert [_account(i).status for i in ids] == ["connected", "connected"]
        assert await jobs.arq_schedule_due_networks(ctx) == 0
