"""The snapshot read alone: how much CPU `snapshot.load_sites` needs for N sites, batch by batch.

run.py times a whole cycle in worker processes, where the read's wall time moves with everything else on
the box. This reads the same seeded sites (run.py's `seed`) in this one process, in the loop's batches of
100, several times, and prints the client CPU and wall time of each pass (minimum and median): the figure
a change to the read moves. Compare two checkouts by running it from each on the same database (the
second with `--reuse`), one after the other (README, session 11).

    .venv/bin/python benchmarks/surplus_loop/read.py --sites 2000            # seeds, then reads
    .venv/bin/python benchmarks/surplus_loop/read.py --sites 2000 --reuse    # reads the database as it is
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]  # this checkout's pipelet_app before an installed one

from run import T0, seed  # noqa: E402

from benchmarks._bench_sites import prepare_sites  # noqa: E402

BATCH = 100  # actuation.loop's batches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="read the database as seeded before")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/pipelet_bench_read")
    args = parser.parse_args(argv)
    os.environ.setdefault("PIPELET_SECRET_KEY", "bench")
    if args.reuse:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        prepare_sites(args.database_url, args.sites, lambda db, ids: seed(db, ids, 1))

    from pipelet_app.actuation.snapshot import load_sites
    from pipelet_app.db import session_scope

    ids = list(range(1, args.sites + 1))
    cpu, wall = [], []
    for n in range(args.passes + 1):  # the first pass warms connections and caches: not counted
        started, started_cpu = time.perf_counter(), time.process_time()
        with session_scope() as db:
            views = [load_sites(db, ids[i : i + BATCH], T0) for i in range(0, len(ids), BATCH)]
        if n:
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    read = sum(view is not None for batch in views for view in batch.values())
    if read != args.sites:
        print(f"read {read} of {args.sites} sites", file=sys.stderr)
        return 1
    print(
        f"{args.sites} sites, {args.passes} passes: client CPU min {min(cpu):.3f} s, median "
        f"{statistics.median(cpu):.3f} s; wall min {min(wall):.3f} s, median {statistics.median(wall):.3f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
