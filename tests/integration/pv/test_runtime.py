"""The same poll job under both schedulers: the embedded lifespan task and an arq worker on Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from pipelet_app.db import reset_engine
from pipelet_app.runtime import jobs
from tests import local_redis
from tests.at_test_now import travel_env
from tests.fakes.inverters import HARNESSES
from tests.fakes.inverters._server import FakeCloud
from tests.fakes.inverters.solaredge import API_KEY
from tests.integration.pv.helpers import account, couple, make_driver

REDIS_URL = local_redis.url(0)


def redis_available() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    return None


@asynccontextmanager
async def arq_queue(url: str) -> AsyncIterator[dict[str, Any]]:
    """A queue of its own on `url`'s Redis; yields the ctx arq hands the cron jobs ({redis, queue_name}).
    The queue and arq's keys are deleted afterwards."""
    from arq import create_pool
    from arq.connections import RedisSettings

    pool = await create_pool(RedisSettings.from_dsn(url))
    queue = f"pipelet-test:{uuid.uuid4().hex}"
    try:
        yield {"redis": pool, "queue_name": queue}
    finally:
        await pool.delete(queue, *[key async for key in pool.scan_iter("arq:*")])
        await pool.aclose()


async def run_queued_jobs(ctx: dict[str, Any]) -> Any:
    """The app's arq worker (no cron jobs) in burst mode over ctx's queue until it is empty; returns it."""
    from arq.worker import Worker

    worker = Worker(
        **jobs.WorkerSettings.build(queue_name=ctx["queue_name"], burst=True, poll_delay=0.05, cron_jobs=[])
    )
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


@pytest.fixture
def live_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloud]:
    """A SolarEdge fake on the wall clock, configured the way production is: through SOLAREDGE_API_BASE."""
    with HARNESSES["solaredge"].make_fake() as fake:
        fake.clock.follow_real_time()
        monkeypatch.setenv("SOLAREDGE_API_BASE", fake.base_url)
        monkeypatch.setenv("PV_SCHEDULER_TICK_S", "1")
        reset_engine()  # also clears the settings cache
        yield fake


async def test_embedded_lifespan_task_polls_due_accounts(database: str, live_fake: FakeCloud) -> None:
    account_id = await couple(HARNESSES["solaredge"], live_fake, make_driver())
    task = asyncio.create_task(jobs.pv_scheduler())
    try:
        for _ in range(100):
            await asyncio.sleep(0.1)
            if account(account_id).last_poll_utc is not None:
                break
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    polled = account(account_id)
    assert polled.status == "connected" and polled.last_sync_utc is not None
    assert polled.next_poll_utc is not None and polled.lease_until_utc is None


async def test_lifespan_task_stands_aside_when_redis_is_configured(
    database: str, live_fake: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    reset_engine()
    account_id = await couple(HARNESSES["solaredge"], live_fake, make_driver())
    await asyncio.wait_for(jobs.pv_scheduler(), timeout=5)  # returns at once: the workers own polling
    assert account(account_id).last_poll_utc is None


async def test_arq_worker_runs_the_cron_and_the_poll_job(
    database: str, live_fake: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    if reason := redis_available():
        pytest.skip(reason)
    # a Redis database per backend: account ids and due seconds repeat across the two runs, and arq keeps
    # finished jobs' ids for a minute, which would dedupe the second run's enqueues
    url = local_redis.url(12 if database.startswith("sqlite") else 13)
    monkeypatch.setenv("REDIS_URL", url)
    reset_engine()
    first = await couple(HARNESSES["solaredge"], live_fake, make_driver("one@example.test"))
    second = await couple(HARNESSES["solaredge"], live_fake, make_driver("two@example.test"))
    async with arq_queue(url) as ctx:
        assert await jobs.arq_schedule_due_pv(ctx) == 2
        assert await jobs.arq_schedule_due_pv(ctx) == 2, "still due: not yet polled"
        assert await ctx["redis"].zcard(ctx["queue_name"]) == 2, (
            "the job id makes one job per account and due time"
        )
        worker = await run_queued_jobs(ctx)
        assert worker.jobs_complete == 2 and worker.jobs_failed == 0
        for account_id in (first, second):
            polled = account(account_id)
            assert polled.status == "connected" and polled.last_poll_utc is not None
        assert await jobs.arq_schedule_due_pv(ctx) == 0, "polled accounts are not due again yet"


async def test_pipelet_worker_process_polls_and_logs_no_key(
    database: str, live_fake: FakeCloud, tmp_path: Path
) -> None:
    """`pipelet worker` as an operator starts it: an arq worker that finds and polls the due account."""
    if reason := redis_available():
        pytest.skip(reason)
    import redis.asyncio as aioredis

    account_id = await couple(HARNESSES["solaredge"], live_fake, make_driver())
    url = local_redis.url(11)  # a database of its own: leftover jobs reach no other test
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "REDIS_URL": url,
        "SOLAREDGE_API_BASE": live_fake.base_url,
        "PV_SCHEDULER_TICK_S": "1",
        **travel_env(),
    }
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.at_test_now", "pipelet_app.cli.main", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[3],
        )
        try:
            for _ in range(120):
                await asyncio.sleep(0.25)
                if account(account_id).last_poll_utc is not None or proc.poll() is not None:
                    break
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(20)
    text = log.read_text()
    polled = account(account_id)
    assert polled.last_poll_utc is not None and polled.status == "connected", text
    assert "pv account" in text and API_KEY not in text
    client = aioredis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter("arq:*")] + [jobs.QUEUE_NAME]
        await client.delete(*keys)
    finally:
        await client.aclose()


async def test_poll_now_after_coupling_runs_on_the_embedded_loop(database: str, live_fake: FakeCloud) -> None:
    account_id = await couple(HARNESSES["solaredge"], live_fake, make_driver())
    await jobs.request_pv_poll(account_id)
    [task] = list(jobs._tasks)
    report = await task
    assert report is not None and report.account_id == account_id and report.status == "connected"
    assert not jobs._tasks, "finished tasks are released"
