"""The consumer's own capacity without a broker: checking (`Consumer.accept`) and storing
(`Consumer.store`, batches of 5,000) the benchmark's messages, timed apart, in one process.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/site_energy/split.py --database-url postgresql://...

Why: on a loaded box the end-to-end run (`run.py`) is bounded by what the broker and the subscriber
get of the CPU (its raw-broker row says how much); this says whether the consumer's code itself would
keep up with 5,000 messages/s. Recreates the database it is given, like `run.py`.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

import run as bench  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--minutes", type=int, default=2)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/pipelet_bench_site_energy"
    )
    args = parser.parse_args()
    bench.prepare_database(args.database_url, args.sites)
    from pipelet_app.site_energy.consumer import Consumer

    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    now = start + timedelta(seconds=70)  # live data, as in run.py
    payload = bench.messages(args.sites, args.minutes, start)
    consumer = Consumer("mqtt://127.0.0.1:1", clock=lambda: now, topics=["pipelet/sites/+/measurements"])
    consumer.directory.reload()
    wall, cpu = time.perf_counter(), time.process_time()
    for topic, body in payload:
        consumer.accept(topic, body, now)
    accept_wall, accept_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, stored = time.perf_counter(), 0
    while True:
        samples, transactions = consumer.take(5000)
        if not samples and not transactions:
            break
        consumer.store(samples, transactions)
        stored += len(samples)
    store_wall = time.perf_counter() - wall
    n = len(payload)
    print(f"messages {n}, stored {stored}, stats {dict(consumer.stats)}")
    print(f"check: {n / accept_wall:,.0f}/s wall, {n / accept_cpu:,.0f}/s per CPU-second")
    print(f"store: {stored / store_wall:,.0f}/s wall (PostgreSQL, batches of 5,000)")
    print(f"check then store, one thread: {n / (accept_wall + store_wall):,.0f}/s wall")
    return 0 if stored == n else 1


if __name__ == "__main__":
    raise SystemExit(main())
