"""How much the surplus loop's memory writes load the database at 10,000 sites (see README.md).

Every site's owner saves the site's loop memory once per control cycle (`actuation.memory.save`, one row
per site in `surplus_loop_memory`, about 6 KB of JSON with a full half hour of PV history). One cycle
here writes one memory per site for every site, split over `--workers` processes (each one lease
holder, writing its sites one after another, one transaction per write as the loop does), and the
cycle time is set against the loop's 10 s period. Seven forms side by side in one run, on one database
(`--forms` picks some; `fenced` always runs with any of them):

- `fenced`:  the store as it is — one statement: INSERT ... SELECT from the lease row while the owner
             holds it (FOR SHARE on PostgreSQL), ON CONFLICT DO UPDATE;
- `two_step`: the form before it — SELECT the lease holder, then an upsert (baseline);
- `plain`:   an unconditional upsert, no lease check at all (the floor a fence can cost against);
- `fenced_async`: `fenced` in transactions with `SET LOCAL synchronous_commit = off` (PostgreSQL; the
             same as `fenced` on SQLite): what the commit's WAL flush costs — an option, not the store;
- `fenced_batched`: `fenced` (`memory.save_in`), all of a worker's sites in one transaction a cycle:
             one commit per worker and cycle instead of one per site (still one statement per site);
- `multirow`: `memory.save_many`, ONE fenced statement per worker and cycle for all its sites (on
             PostgreSQL `INSERT ... SELECT FROM unnest(...)` joined to the lease rows; on SQLite the
             per-site statement in one transaction);
- `multirow_chunked`: `save_many` per `loop.BATCH_SITES` sites, as the loop writes (one statement per
             batch of sites that run together).

Two forms of the lease renewal every cycle also makes (`actuation.lease`; `claim` always runs with either):

- `claim`:   one conditional UPDATE (and transaction) per site, as the `Runner` renewed until session 9;
- `claim_many`: `lease.claim_many` per `loop.BATCH_SITES` sites, ONE UPDATE per batch, as the `Runner`
             renews since.

The first cycle of each form inserts (the table is emptied before it); the update cycles after it, the
steady state, run the forms in turn, each cycle starting with the next form, so that drift in the
machine's load (and whatever the first writes after a pause pay) spreads over all of them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks import _bench_sites as bench  # noqa: E402

MEMORY_FORMS = (
    "fenced",
    "two_step",
    "plain",
    "fenced_async",
    "fenced_batched",
    "multirow",
    "multirow_chunked",
)
LEASE_FORMS = ("claim", "claim_many")
FORMS = MEMORY_FORMS + LEASE_FORMS
#: the form each one's speedup is measured against (and that runs whenever one of its kind does)
BASELINE = {**dict.fromkeys(MEMORY_FORMS, "fenced"), **dict.fromkeys(LEASE_FORMS, "claim")}
PERIOD_S = 10.0  # site_surplus.interval_s default: the loop's period


def prepare_database(url: str, sites: int, workers: int) -> None:
    """A fresh migrated database with `sites` sites, each leased to one of the workers (not measured)."""
    lease = datetime.now(UTC) + timedelta(days=1)

    def leases(db: Any, site_ids: range) -> None:
        from sqlalchemy import insert

        from pipelet_app.db.models import SiteSurplus

        db.execute(insert(SiteSurplus), bench.lease_rows(site_ids, workers, lease))

    bench.prepare_sites(url, sites, leases)


def full_memory(now: datetime) -> Any:
    """A site's memory as the loop carries it at its largest: two chargers, half an hour of PV."""
    from pipelet_app.domain.surplus.actuation import Sent
    from pipelet_app.domain.surplus.model import ChargerMemory, ControllerMemory
    from pipelet_app.domain.surplus.saved import LoopMemory

    charger = ChargerMemory(
        charging=True, limit_a=12.5, phases=3, limit_since=now, above_since=now, last_phase_switch=now
    )
    pv = tuple((now.timestamp() - 10.0 * i, 4200.0 + i, 850.0 - i) for i in range(180))
    sent = {
        (cp, 1, kind): Sent(16.0, "A", "tx-1", "Accepted")
        for cp in ("CP-1", "CP-2")
        for kind in ("tx", "max")
    }
    return LoopMemory(ControllerMemory(now, {"CP-1#1": charger, "CP-2#1": charger}, pv), sent)


def _two_step(site_id: int, owner: str, data: dict, now: datetime) -> bool:
    """The store before the single statement: read the lease holder, then upsert."""
    from sqlalchemy import exists
    from sqlmodel import col, select

    from pipelet_app.actuation.memory import TABLE, postgresql_insert, sqlite_insert
    from pipelet_app.db import session_scope
    from pipelet_app.db.models import SiteSurplus

    with session_scope() as db:
        holder = db.exec(select(SiteSurplus.owner).where(SiteSurplus.site_id == site_id)).first()
        if holder != owner:
            return False
        insert = postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(TABLE).values(site_id=site_id, owner=owner, saved_utc=now, memory=data)
        still_ours = exists().where(col(SiteSurplus.site_id) == site_id, col(SiteSurplus.owner) == owner)
        db.execute(
            stmt.on_conflict_do_update(
                index_elements=["site_id"],
                set_={"owner": owner, "saved_utc": now, "memory": data},
                where=still_ours,
            )
        )
        return True


def _plain(site_id: int, owner: str, data: dict, now: datetime) -> bool:
    """No fence: what writing the row costs by itself."""
    from pipelet_app.actuation.memory import TABLE, postgresql_insert, sqlite_insert
    from pipelet_app.db import session_scope

    with session_scope() as db:
        insert = postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(TABLE).values(site_id=site_id, owner=owner, saved_utc=now, memory=data)
        db.execute(
            stmt.on_conflict_do_update(
                index_elements=["site_id"], set_={"owner": owner, "saved_utc": now, "memory": data}
            )
        )
        return True


def cycle_time(cycle: int) -> datetime:
    """The loop's clock in cycle `cycle` (a lease renewed then runs `LEASE_INTERVALS` periods on)."""
    return datetime(2026, 6, 21, 12, 0, tzinfo=UTC) + timedelta(seconds=PERIOD_S * cycle)


def _renew(url: str, form: str, owner: str, mine: list[int], cycle: int, barrier: Any) -> dict:
    """One lease holder's renewals of a cycle: a statement per site (`claim`) or per batch (`claim_many`)."""
    from pipelet_app.actuation.lease import claim, claim_many
    from pipelet_app.actuation.loop import BATCH_SITES, LEASE_INTERVALS

    now, lease_s = cycle_time(cycle), LEASE_INTERVALS * PERIOD_S
    claim(
        mine[0], owner, now, lease_s
    )  # connect outside the clock: a worker's pool is warm in a running loop
    barrier.wait()
    began = time.time()
    latencies, refused = [], 0
    size = 1 if form == "claim" else BATCH_SITES
    for start in range(0, len(mine), size):
        batch = mine[start : start + size]
        t = time.perf_counter()
        if form == "claim":
            refused += not claim(batch[0], owner, now, lease_s)
        else:
            refused += len(batch) - len(claim_many([(site_id, lease_s) for site_id in batch], owner, now))
        latencies.append(time.perf_counter() - t)
    return {
        "began": began,
        "ended": time.time(),
        "latencies": latencies,
        "refused": refused,
        "statements": len(latencies),
        "bytes": 0,
    }


def _worker(url: str, form: str, worker: int, workers: int, sites: int, cycle: int, barrier: Any) -> dict:
    """One lease holder's share of a cycle: its sites, one write (or lease renewal) each. Runs in its own
    process."""
    os.environ["DATABASE_URL"] = url
    from pipelet_app.actuation.loop import BATCH_SITES
    from pipelet_app.actuation.memory import save, save_in, save_many
    from pipelet_app.db import reset_engine, session_scope
    from pipelet_app.domain.surplus.saved import encode

    reset_engine()
    if form == "fenced_async" and url.startswith("postgresql"):
        from sqlalchemy import event

        from pipelet_app.db import get_engine

        @event.listens_for(get_engine(), "begin")
        def _no_flush_wait(connection: Any) -> None:
            connection.exec_driver_sql("SET LOCAL synchronous_commit = off")

    owner = f"bench-worker-{worker}"
    mine = [i for i in range(1, sites + 1) if bench.owner_of(i, workers) == owner]
    if form in LEASE_FORMS:
        return _renew(url, form, owner, mine, cycle, barrier)
    now = cycle_time(cycle)
    loop = full_memory(now)
    data = encode(loop, now)
    if form in ("fenced", "fenced_async", "fenced_batched"):
        write = lambda site_id: save(site_id, owner, loop, now)  # noqa: E731  (encodes, as the loop does)
    elif form == "two_step":
        write = lambda site_id: _two_step(site_id, owner, encode(loop, now), now)  # noqa: E731
    else:
        write = lambda site_id: _plain(site_id, owner, encode(loop, now), now)  # noqa: E731
    write(mine[0])  # connect outside the clock: a worker's pool is warm in a running loop
    barrier.wait()
    began = time.time()
    latencies, refused = [], 0
    if form.startswith("multirow"):  # one statement (and commit) per batch; latencies per statement
        size = len(mine) if form == "multirow" else BATCH_SITES
        for start in range(0, len(mine), size):
            batch = mine[start : start + size]
            t = time.perf_counter()
            refused += len(batch) - len(save_many(owner, [(site_id, loop, now) for site_id in batch]))
            latencies.append(time.perf_counter() - t)
    else:
        with session_scope() as db:  # used by the batched form only; the others open their own
            if form == "fenced_batched":
                write = lambda site_id: save_in(db, site_id, owner, loop, now)  # noqa: E731
            for site_id in mine:
                t = time.perf_counter()
                refused += not write(site_id)
                latencies.append(time.perf_counter() - t)
    return {
        "began": began,
        "ended": time.time(),
        "latencies": latencies,
        "refused": refused,
        # SQLite's `save_many` is a statement per site (in one transaction)
        "statements": len(mine)
        if form.startswith("multirow") and url.startswith("sqlite")
        else len(latencies),
        "bytes": len(json.dumps(data)),
    }


def run_cycle(pool: Any, barrier: Any, url: str, form: str, workers: int, sites: int, cycle: int) -> dict:
    parts = pool.starmap(_worker, [(url, form, w, workers, sites, cycle, barrier) for w in range(workers)])
    seconds = max(p["ended"] for p in parts) - min(p["began"] for p in parts)
    latencies = sorted(x for p in parts for x in p["latencies"])
    return {
        "cycle_s": seconds,
        "writes_per_s": sites / seconds,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
        "refused": sum(p["refused"] for p in parts),
        "statements": sum(p["statements"] for p in parts),
        "bytes": parts[0]["bytes"],
    }


def table(results: dict, forms: tuple[str, ...]) -> str:
    """The forms side by side, as README.md's tables."""
    lines = [
        "| form | statements a cycle | cycle (first) | cycle (update, median) | sites/s | statements/s |"
        " share of 10 s | p50 / p99 per statement |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for form in forms:
        r = results[form]
        lines.append(
            f"| `{form}` | {r['statements_per_cycle']} | {r['insert_cycle_s']} s | {r['cycle_s']} s | "
            f"{r['writes_per_s']} | {r['statements_per_s']} | {r['share_of_period']} | "
            f"{r['p50_ms']} / {r['p99_ms']} ms |"
        )
    return "\n".join(lines)


def empty_table(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import text

    from pipelet_app.db import reset_engine, session_scope

    reset_engine()
    with session_scope() as db:
        db.execute(text("DELETE FROM surplus_loop_memory"))
    reset_engine()


def check(url: str, sites: int, workers: int, cycles: int, memory: bool) -> list[str]:
    """The tables after the run: every site's memory row (when `memory` forms ran), written by its owner;
    every lease still its owner's; a non-owner's write and claim refused."""
    problems = bench.lease_problems(url, sites, workers, memory)
    from pipelet_app.actuation.lease import claim_many
    from pipelet_app.actuation.memory import save, save_many
    from pipelet_app.domain.surplus.saved import LoopMemory

    if claim_many([(1, 30.0), (2, 30.0)], "bench-intruder", cycle_time(cycles) + timedelta(seconds=1)):
        problems.append("a non-owner's claim of live leases was not refused")
    if save(1, "bench-intruder", LoopMemory(), datetime.now(UTC)):
        problems.append("a non-owner's write was not refused")
    if save_many(
        "bench-intruder", [(1, LoopMemory(), datetime.now(UTC)), (2, LoopMemory(), datetime.now(UTC))]
    ):
        problems.append("a non-owner's batch was not refused")
    return problems


def main(argv: list[str] | None = None) -> int:
    workers = (4, "lease-holding processes writing at once")
    cycles = (4, "update cycles per form after the insert one")
    parser = bench.lease_parser(__doc__, "pipelet_bench_loop_memory", workers, cycles)
    parser.add_argument(
        "--forms",
        default=",".join(FORMS),
        help=f"comma-separated, of {', '.join(FORMS)} (fenced joins a memory form, claim a lease form)",
    )
    args = parser.parse_args(argv)
    if unknown := set(args.forms.split(",")) - set(FORMS):
        parser.error(f"unknown forms: {', '.join(sorted(unknown))}")
    chosen = {f for given in args.forms.split(",") for f in (given, BASELINE[given])}
    forms = tuple(f for f in FORMS if f in chosen)
    with bench.lease_run(args, "loop-memory-bench-"):
        prepare_database(args.database_url, args.sites, args.workers)
        context = multiprocessing.get_context("spawn")
        results: dict[str, Any] = {
            "sites": args.sites,
            "workers": args.workers,
            "database": args.database_url.split(":")[0],
            "period_s": PERIOD_S,
        }
        cycles: dict[str, list[dict]] = {form: [] for form in forms}
        with context.Manager() as manager, context.Pool(args.workers) as pool:
            barrier = manager.Barrier(args.workers)
            inserts = {}
            for form in forms:
                if form in MEMORY_FORMS:  # a lease form's first cycle renews, like its others
                    empty_table(args.database_url)
                inserts[form] = run_cycle(pool, barrier, args.database_url, form, args.workers, args.sites, 0)
            for cycle in range(1, args.cycles + 1):
                for form in forms[cycle % len(forms) :] + forms[: cycle % len(forms)]:
                    got = run_cycle(pool, barrier, args.database_url, form, args.workers, args.sites, cycle)
                    cycles[form].append(got)
        if "fenced" in forms:
            results["memory_bytes"] = inserts["fenced"]["bytes"]
        median_s = {form: statistics.median(c["cycle_s"] for c in cycles[form]) for form in forms}
        for form in forms:
            steady, cycle_s = cycles[form], median_s[form]
            results[form] = {
                "insert_cycle_s": round(inserts[form]["cycle_s"], 2),
                "cycle_s": round(cycle_s, 2),
                "writes_per_s": round(args.sites / cycle_s),
                "share_of_period": round(cycle_s / PERIOD_S, 3),
                "p50_ms": round(statistics.median(c["p50_ms"] for c in steady), 2),
                "p99_ms": round(statistics.median(c["p99_ms"] for c in steady), 2),
                "refused": sum(c["refused"] for c in steady) + inserts[form]["refused"],
                "statements_per_cycle": steady[0]["statements"],
                "statements_per_s": round(steady[0]["statements"] / cycle_s),
            }
        # how many times faster than its baseline (per-site statements, one commit each) each form ran
        results["speedup_vs_baseline"] = {
            form: round(median_s[BASELINE[form]] / median_s[form], 2) for form in forms
        }
        print(json.dumps(results, indent=2))
        print(table(results, forms), file=sys.stderr)
        memory = any(form in MEMORY_FORMS for form in forms)
        problems = check(args.database_url, args.sites, args.workers, args.cycles, memory)
        problems += [
            f"{form}: {results[form]['refused']} owner writes refused"
            for form in forms
            if results[form]["refused"]
        ]
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
