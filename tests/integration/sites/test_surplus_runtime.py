"""Where the surplus loop runs: a lifespan task of the web app when embedded (it stands aside with
REDIS_URL), and in every `pipelet worker` (arq) with REDIS_URL, started and stopped with the worker."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlmodel import select

from pipelet_app.db import reset_engine, session_scope
from pipelet_app.db.models import Site, SiteSurplus, SurplusDecision, Tenant, TenantKind
from pipelet_app.runtime import jobs
from tests import local_redis

REDIS_URL = local_redis.url(14)


def _enabled_site() -> int:
    site_id = random.randint(10_000_000, 99_999_999)
    with session_scope() as db:
        tenant = Tenant(name="Sun", slug=f"sun-{site_id}", kind=TenantKind.OPERATOR)
        db.add(tenant)
        db.flush()
        db.add(Site(id=site_id, tenant_id=tenant.id, name="Roof", grid_limit_a=25))
        db.flush()
        db.add(SiteSurplus(site_id=site_id, enabled=True, interval_s=10))
    return site_id


def _decisions(site_id: int) -> list[SurplusDecision]:
    with session_scope() as db:
        return list(db.exec(select(SurplusDecision).where(SurplusDecision.site_id == site_id)).all())


async def test_embedded_loop_stands_aside_with_redis(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    reset_engine()
    site_id = _enabled_site()
    await asyncio.wait_for(jobs.surplus_loop(), timeout=5)  # returns at once: the workers run it
    assert _decisions(site_id) == []


async def test_embedded_loop_runs_enabled_sites(database: str) -> None:
    site_id = _enabled_site()
    task = asyncio.create_task(jobs.surplus_loop())
    try:
        for _ in range(100):
            if _decisions(site_id):
                break
            await asyncio.sleep(0.1)
        rows = _decisions(site_id)
        assert len(rows) == 1 and rows[0].stale  # no grid meter at this site: the safe side
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_worker_runs_the_loop_while_it_runs(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    reset_engine()
    site_id = _enabled_site()
    settings = jobs.WorkerSettings.build()
    ctx: dict = {}
    await settings["on_startup"](ctx)
    task = ctx["surplus_loop"]
    try:
        for _ in range(100):
            if _decisions(site_id):
                break
            await asyncio.sleep(0.1)
        assert len(_decisions(site_id)) == 1
        with session_scope() as db:
            owner = db.get(SiteSurplus, site_id).owner  # type: ignore[union-attr]
        assert owner  # the worker holds the site's lease
    finally:
        await settings["on_shutdown"](ctx)
    assert task.done()


async def test_a_full_runner_leaves_sites_to_other_workers(database: str) -> None:
    from datetime import timedelta

    from pipelet_app.actuation.loop import Runner
    from pipelet_app.db.types import utcnow

    first, second = _enabled_site(), _enabled_site()
    a, b = Runner("worker-a", max_sites=1), Runner("worker-b", max_sites=1)
    now = utcnow()
    assert await a.tick(now) == 1
    assert await b.tick(now + timedelta(seconds=1)) == 1
    assert len(a.sites) == len(b.sites) == 1 and set(a.sites) | set(b.sites) == {first, second}
    assert await a.tick(now + timedelta(seconds=11)) == 1  # its own site again, not the other one
    assert set(a.sites).isdisjoint(b.sites)
