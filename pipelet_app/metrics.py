"""Prometheus metrics of every Pipelet process, defined once (served at `GET /api/v1/metrics`).

Why one module: the names are the contract with dashboards and alerts, so they are listed here and in
docs/interfaces.md, not scattered. It imports nothing of ours, so the CSMS, the pollers and the web app
can all record into it without import cycles.

Each process records into its own default registry. The web app's endpoint (`api/metrics.py`) renders
its own and adds the other processes' with a `process` label: the CSMS on this host over its loopback
endpoint (embedded), and every CSMS node and worker through the snapshots they write to Redis every
`SNAPSHOT_S` seconds (scale-out). See `merge`.

Hot path: the CSMS records one counter and one histogram per charger call through children cached per
action (`csms_call`), a microsecond next to the JSON parse and the durable write of the same message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import REGISTRY, Collector

log = logging.getLogger("pipelet.metrics")
SNAPSHOT_S = 15.0
CONTENT_TYPE = CONTENT_TYPE_LATEST  # "text/plain; version=0.0.4; charset=utf-8"
SNAPSHOT_KEY = "pipelet:metrics:"  # + process name; expires after 4 snapshot periods

# ------------------------------------------------------------------------------------------------ CSMS
CSMS_CONNECTIONS = Gauge(
    "pipelet_csms_connections", "Charger sockets open on this CSMS node", ["ocpp_version"]
)
CSMS_CALLS = Counter("pipelet_csms_calls", "OCPP calls received from chargers, by action", ["action"])
CSMS_CALL_SECONDS = Histogram(
    "pipelet_csms_call_seconds",
    "From a charger's call to the CSMS's answer, the durable write included, by action",
    ["action"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CSMS_ERRORS = Counter(
    "pipelet_csms_errors",
    "CallErrors the CSMS answered chargers with, by action and code",
    ["action", "code"],
)
CSMS_COMMANDS = Counter(
    "pipelet_csms_commands",
    "Commands sent to chargers on this node, by action and outcome",
    ["action", "outcome"],
)
CSMS_WRITE_QUEUE = Gauge("pipelet_csms_write_queue", "Message effects waiting for the CSMS's group commit")

# --------------------------------------------------------------------------------------------- pollers
POLLS = Counter(
    "pipelet_poller_polls", "Inverter account polls, by brand and resulting status", ["brand", "status"]
)
POLL_ERRORS = Counter(
    "pipelet_poller_errors",
    "Polls that failed (vendor trouble or a crash), by brand and kind",
    ["brand", "kind"],
)
QUOTA_REMAINING = Gauge(
    "pipelet_poller_quota_remaining",
    "Fewest API calls left in any quota window, over the accounts of the brand this process polled",
    ["brand"],
)
NETWORK_POLLS = Counter(
    "pipelet_network_polls",
    "Charging-network account polls, by network and resulting status (pollers/networks.py)",
    ["network", "status"],
)
SITE_INVERTER_POLLS = Counter(
    "pipelet_site_inverter_polls",
    "Polls of operator-linked inverter clouds for site PV (pollers/site_inverters.py), by brand and status",
    ["brand", "status"],
)
NETWORK_ROWS_SKIPPED = Counter(
    "pipelet_network_rows_skipped",
    "Rows a network poll left out (a changed or missing field, a connector throttled past its retries)",
    ["network", "kind"],
)

# ------------------------------------------------------------------------------------------ site energy
MQTT_MESSAGES = Counter(
    "pipelet_mqtt_messages",
    "Site energy MQTT messages by outcome: accepted (checked and queued), stored, lost (a failed batch)",
    ["outcome"],
)
MQTT_REFUSED = Counter(
    "pipelet_mqtt_refused",
    "Site energy MQTT messages refused, by reason (site_energy/payloads.py: missing-field, wrong-unit, ...)",
    ["reason"],
)
MQTT_CONNECTED = Gauge(
    "pipelet_mqtt_connected",
    "1 while this process's MQTT consumer is connected to the broker (only in a process that consumes)",
    ["broker"],
)
MQTT_DISCONNECTS = Counter(
    "pipelet_mqtt_disconnects", "MQTT broker connections lost or refused (then retried)"
)

# ------------------------------------------------------------------------------------------------- web
WEB_REQUESTS = Counter(
    "pipelet_web_requests", "HTTP requests answered, by method and status", ["method", "status"]
)
WEB_REQUEST_SECONDS = Histogram(
    "pipelet_web_request_seconds",
    "Time to the start of the answer, by method",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# ---------------------------------------------------------------------------------------------- queues
QUEUE_DEPTH = Gauge("pipelet_queue_depth", "Jobs waiting to run, by queue", ["queue"])
SOURCE_UP = Gauge(
    "pipelet_metrics_source_up", "1 when a process's metrics were read for this scrape", ["process"]
)

_calls: dict[str, tuple[Any, Any]] = {}
_quota: dict[str, dict[int, int]] = {}


def csms_call(action: str, seconds: float) -> None:
    """One answered charger call (`action` must come from the route map: bounded label values)."""
    children = _calls.get(action)
    if children is None:
        children = _calls[action] = (CSMS_CALLS.labels(action), CSMS_CALL_SECONDS.labels(action))
    children[0].inc()
    children[1].observe(seconds)


def quota_left(brand: str, account_id: int, remaining: int) -> None:
    """Remember an account's remaining calls; the gauge shows the brand's lowest."""
    accounts = _quota.setdefault(brand, {})
    accounts[account_id] = remaining
    QUOTA_REMAINING.labels(brand).set(min(accounts.values()))


def render(registry: CollectorRegistry = REGISTRY) -> bytes:
    return generate_latest(registry)


class _Merged(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def merge(sources: Mapping[str, str]) -> bytes:
    """One exposition from several processes' texts, each sample labelled `process="<name>"`.

    Prometheus refuses a metric family that appears twice in one scrape, so the families are merged by
    name instead of concatenating the texts."""
    families: dict[str, Metric] = {}
    for process, text in sources.items():
        for family in text_string_to_metric_families(text):
            merged = families.get(family.name)
            if merged is None:
                merged = families[family.name] = Metric(family.name, family.documentation, family.type)
                merged.unit = family.unit
            for sample in family.samples:
                merged.add_sample(
                    sample.name, {**sample.labels, "process": process}, sample.value, sample.timestamp
                )
    registry = CollectorRegistry()
    registry.register(_Merged(families.values()))
    return generate_latest(registry)


async def publish_forever(redis_url: str, process: str, before: Callable[[], None] | None = None) -> None:
    """Write this process's metrics to Redis every SNAPSHOT_S (scale-out: the web app reads them all).

    The key expires after four periods, so a process that died drops out of the scrape instead of
    reporting its last numbers for ever. Redis trouble is logged once per outage, never raised."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    failing = False
    try:
        while True:
            try:
                if before is not None:
                    before()
                await client.set(SNAPSHOT_KEY + process, render(), ex=int(SNAPSHOT_S * 4))
                failing = False
            except Exception as exc:
                if not failing:
                    log.warning("metrics snapshot to Redis failed: %s", exc)
                failing = True
            await asyncio.sleep(SNAPSHOT_S)
    finally:
        await client.aclose()


async def read_snapshots(redis_url: str) -> dict[str, str]:
    """Every live process's last snapshot, by process name."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        keys = [key async for key in client.scan_iter(match=SNAPSHOT_KEY + "*", count=200)]
        values = await client.mget(keys) if keys else []
    finally:
        await client.aclose()
    return {
        key.decode().removeprefix(SNAPSHOT_KEY): value.decode()
        for key, value in zip(keys, values, strict=True)
        if value
    }
