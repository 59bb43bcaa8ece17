"""Metrics plumbing: merging processes' texts, the web middleware's counts, snapshots through Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families

from pipelet_app import metrics
from pipelet_app.runtime.web_metrics import web_metrics
from tests import local_redis

REDIS = local_redis.url(13)


def text_of(value: float) -> str:
    registry = CollectorRegistry()
    Counter("demo_things", "things", ["kind"], registry=registry).labels("a").inc(value)
    return metrics.render(registry).decode()


def test_merge_labels_every_sample_with_its_process_and_keeps_one_family() -> None:
    merged = metrics.merge({"web": text_of(2), "csms:node-a": text_of(5)}).decode()
    assert merged.count("# TYPE demo_things_total counter") == 1, "one family, or Prometheus refuses it"
    (family,) = [f for f in text_string_to_metric_families(merged) if f.name == "demo_things"]
    totals = {s.labels["process"]: s.value for s in family.samples if s.name == "demo_things_total"}
    assert totals == {"web": 2.0, "csms:node-a": 5.0}


def test_web_requests_are_counted_by_method_and_status_not_path() -> None:
    api = FastAPI()

    @api.get("/chargers/{cp}")
    def charger(cp: str) -> dict:
        return {}

    client = TestClient(web_metrics(api))
    before = metrics.WEB_REQUESTS.labels("GET", "200")._value.get()
    missing = metrics.WEB_REQUESTS.labels("GET", "404")._value.get()
    client.get("/chargers/CP-1")
    client.get("/chargers/CP-2")
    client.get("/nowhere")
    assert metrics.WEB_REQUESTS.labels("GET", "200")._value.get() - before == 2
    assert metrics.WEB_REQUESTS.labels("GET", "404")._value.get() - missing == 1
    assert "CP-1" not in metrics.render().decode()


def test_quota_gauge_shows_the_brands_lowest_account() -> None:
    metrics.quota_left("testbrand", 1, 90)
    metrics.quota_left("testbrand", 2, 12)
    metrics.quota_left("testbrand", 1, 80)
    assert metrics.QUOTA_REMAINING.labels("testbrand")._value.get() == 12


async def test_snapshots_reach_the_reader_through_redis_and_expire_with_their_process() -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS)
    try:
        await client.ping()
    except Exception as exc:  # pragma: no cover - the machine's Redis is part of the test setup
        pytest.skip(f"Redis not reachable at {REDIS}: {exc}")
    process = f"worker:test:{uuid.uuid4().hex[:8]}"
    task = asyncio.create_task(metrics.publish_forever(REDIS, process))
    try:
        for _ in range(50):
            snapshots = await metrics.read_snapshots(REDIS)
            if process in snapshots:
                break
            await asyncio.sleep(0.05)
        assert "pipelet_web_requests_total" in snapshots[process]
        ttl = await client.ttl(metrics.SNAPSHOT_KEY + process)
        assert 0 < ttl <= metrics.SNAPSHOT_S * 4
    finally:
        task.cancel()
        await client.delete(metrics.SNAPSHOT_KEY + process)
        await client.aclose()
