"""How many MQTT messages per second one consumer process stores (see README.md).

Three measurements in one run, on one private Mosquitto (started here on a free loopback port, so the
queue limits can be raised without touching the machine's broker) and one database:

- `broker`:   the raw broker → one subscriber throughput, counting messages, storing nothing (ceiling);
- `naive`:    the consumer with a batch of 1: each message its own write and commit;
- `consumer`: the consumer as it runs in Pipelet (batches of up to 5,000 or 0.5 s, written in a thread).

Each phase: a persistent session subscribes, disconnects; a publisher process queues N messages at the
broker (one per asset per minute, sites x 5 assets); then the subscriber reconnects and drains. The rate
is N / (last message handled - first message received): the consumer's own speed, not the publisher's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks._bench_sites import prepare_sites  # noqa: E402
from tests.pipelet_process import free_port  # noqa: E402

KINDS = ("pv", "grid", "battery", "charger", "load")
POWER = {"pv": 4200.0, "grid": -800.0, "battery": 500.0, "charger": 7400.0, "load": 1500.0}


def start_broker(workdir: Path) -> tuple[subprocess.Popen, int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        sys.exit("mosquitto is not installed (scripts/bootstrap.sh installs it)")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_inflight_messages 1000\nmax_queued_bytes 0\n"
    )
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("mosquitto did not start")


def prepare_database(url: str, sites: int) -> dict[int, list[str]]:
    """A fresh migrated database with `sites` sites of 5 devices (bulk insert: setup is not measured)."""
    os.environ.setdefault("PIPELET_SECRET_KEY", "bench")

    def devices(db: Any, site_ids: range) -> None:
        from sqlalchemy import insert

        from pipelet_app.db.models import SiteDevice

        rows = [{"site_id": i, "asset_id": f"{kind}-{i}", "kind": kind} for i in site_ids for kind in KINDS]
        db.execute(insert(SiteDevice), rows)

    prepare_sites(url, sites, devices)
    return {i: [f"{kind}-{i}" for kind in KINDS] for i in range(1, sites + 1)}


def messages(sites: int, minutes: int, start: datetime) -> list[tuple[str, bytes]]:
    out = []
    for minute in range(minutes):
        at = (start + timedelta(minutes=minute, seconds=20)).isoformat()
        for site in range(1, sites + 1):
            for kind in KINDS:
                body = {
                    "assetId": f"{kind}-{site}",
                    "timestamp": at,
                    "energyValue": 1000.0 * minute,
                    "powerValue": POWER[kind],
                }
                if kind == "battery":
                    body["currentStateOfCharge"] = 55.0
                out.append((f"pipelet/sites/{site}/measurements", json.dumps(body).encode()))
    return out


def _publish(port: int, payload: list[tuple[str, bytes]]) -> None:
    import aiomqtt

    async def main() -> None:
        async with aiomqtt.Client("127.0.0.1", port, max_inflight_messages=1000) as client:
            for topic, body in payload:
                await client.publish(topic, body, qos=1)

    asyncio.run(main())


def publish(port: int, payload: list[tuple[str, bytes]]) -> float:
    """Queue the messages at the broker from another process; returns the seconds it took."""
    began = time.perf_counter()
    proc = multiprocessing.Process(target=_publish, args=(port, payload))
    proc.start()
    proc.join()
    return time.perf_counter() - began


async def subscribe_persistent(port: int, identifier: str) -> None:
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", port, identifier=identifier, clean_session=False) as client:
        await client.subscribe("pipelet/sites/+/measurements", qos=1)


async def drain_raw(port: int, identifier: str, expected: int) -> float:
    """Baseline: receive and count, nothing else."""
    import aiomqtt

    count, first = 0, 0.0
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier=identifier, clean_session=False, max_queued_incoming_messages=0
    ) as client:
        async for _message in client.messages:
            if count == 0:
                first = time.perf_counter()
            count += 1
            if count >= expected:
                break
    return expected / (time.perf_counter() - first)


async def drain_consumer(port: int, identifier: str, expected: int, batch: int, now: datetime) -> dict:
    from pipelet_app.site_energy.consumer import Consumer

    consumer = Consumer(
        f"mqtt://127.0.0.1:{port}",
        identifier=identifier,
        persistent=True,
        batch=batch,
        clock=lambda: now,
        topics=["pipelet/sites/+/measurements"],
    )
    original = consumer.accept
    first: list[float] = []

    def accept(topic: str, payload: bytes, now: datetime | None = None) -> bool:
        if not first:
            first.append(time.perf_counter())
        return original(topic, payload, now)

    consumer.accept = accept  # type: ignore[method-assign]
    task = asyncio.create_task(consumer.run())
    handled, progress_at = -1, time.perf_counter()
    while (done := consumer.stats["stored"] + consumer.stats["lost"] + consumer.stats["refused"]) < expected:
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
        if done != handled:
            handled, progress_at = done, time.perf_counter()
        elif time.perf_counter() - progress_at > 180:
            raise SystemExit(f"stalled: {done} of {expected} messages handled; stats {dict(consumer.stats)}")
    elapsed = time.perf_counter() - first[0]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return {"rate": expected / elapsed, "stats": dict(consumer.stats)}


def count_rows(url: str) -> tuple[int, int]:
    from sqlalchemy import text

    from pipelet_app.db import session_scope

    with session_scope() as db:
        samples = db.execute(text("SELECT count(*) FROM site_samples")).scalar_one()
        minutes = db.execute(text("SELECT count(*) FROM site_energy_minutes")).scalar_one()
    return int(samples), int(minutes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--minutes", type=int, default=2, help="messages per asset")
    parser.add_argument("--naive-messages", type=int, default=5_000, help="the per-message phase is slow")
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/pipelet_bench_site_energy"
    )
    parser.add_argument("--smoke", action="store_true", help="200 sites, 1 minute, SQLite in a temp dir")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="site-energy-bench-"))
    if args.smoke:
        args.sites, args.minutes, args.naive_messages = 200, 1, 300
        args.database_url = f"sqlite:///{workdir / 'bench.db'}"
    broker, port = start_broker(workdir)
    try:
        prepare_database(args.database_url, args.sites)
        # Live data, as sites send it: the consumer's clock stands 70 s into the first minute of the
        # messages, so none is "late" (late data would also mark the sites' minutes for recomputing).
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
        now = start + timedelta(seconds=70)
        payload = messages(args.sites, args.minutes, start)
        n = len(payload)
        results: dict[str, object] = {
            "sites": args.sites,
            "messages": n,
            "database": args.database_url.split(":")[0],
        }

        asyncio.run(subscribe_persistent(port, "bench-raw"))
        results["publish_s"] = round(publish(port, payload), 2)
        results["broker_msgs_per_s"] = round(asyncio.run(drain_raw(port, "bench-raw", n)))

        naive = payload[: args.naive_messages]
        asyncio.run(subscribe_persistent(port, "bench-naive"))
        publish(port, naive)
        got = asyncio.run(drain_consumer(port, "bench-naive", len(naive), 1, now))
        results["naive_msgs_per_s"] = round(got["rate"])

        asyncio.run(subscribe_persistent(port, "bench-consumer"))
        publish(port, payload)
        got = asyncio.run(drain_consumer(port, "bench-consumer", n, 5000, now))
        results["consumer_msgs_per_s"] = round(got["rate"])
        results["consumer_stats"] = got["stats"]
        samples, minutes = count_rows(args.database_url)
        results["site_samples_rows"] = samples
        results["site_energy_minutes_rows"] = minutes
        results["consumer_vs_naive"] = round(
            results["consumer_msgs_per_s"] / max(1, results["naive_msgs_per_s"]), 1
        )  # type: ignore[operator]
        results["consumer_vs_broker"] = round(
            results["consumer_msgs_per_s"] / max(1, results["broker_msgs_per_s"]), 2
        )  # type: ignore[operator]
        print(json.dumps(results, indent=2))
        ok = samples == n and minutes == args.sites * args.minutes and got["stats"].get("refused", 0) == 0
        if not ok:
            print("row counts do not match the messages sent", file=sys.stderr)
            return 1
        return 0
    finally:
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
