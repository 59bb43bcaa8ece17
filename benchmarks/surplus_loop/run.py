"""A whole surplus control cycle at 10,000 sites: does it fit the period, and where does the time go?

benchmarks/loop_memory measures the lease renewals and the memory writes alone, benchmarks/site_energy
the MQTT ingestion. This runs the real `actuation.loop.Runner` over N seeded sites (default 10,000) on
PostgreSQL, split over `--workers` processes (each one lease holder, as `pipelet worker`s in scale-out),
and times everything one control period needs for every site: the enabled-sites read, the lease
renewals (`claim_many`), the snapshot read of each site (`load_site`: devices, the newest raw samples,
each charger with its open session, preferences and stored rate unit), `decide()`, the write-aheads and
memory saves (`save_many`), the profiles handed to the CSMS, and the decision rows (`surplus_decisions`).

The CSMS is a fake inside each worker: `actuation.loop.send_command` answers `{"status": "Accepted"}` at
once. Why not the real send path: in scale-out it is an RPC over Redis to the CSMS node that holds the
charger's WebSocket, and the charger's answer; its cost is the CSMS's and the chargers' (benchmarks/csms
measures it), and 20,000 simulated chargers on this 2-core box would measure the simulators, not the loop.
What the fake leaves in the cycle is the loop's own work around each send (the slot bookkeeping, the
outcome rows, the coroutines a batch gathers).

Each site: a grid meter, a PV meter, two OCPP 1.6 chargers (one connector each, rate unit stored,
online); every other site has a car charging on its first charger. Samples every 30 s over the last
90 s (fresh, plausible, not frozen). The clock is virtual: cycle k runs at T0 + k * period, so every
site is due every cycle and the samples stay fresh; the wall time of each cycle is what is measured.

Two kinds of cycle:

- `steady`: what a running loop does most cycles: nothing changed, so nothing is sent and no memory
  or decision row is due (one row a minute per site, `STORE_QUIET_EVERY`; the memory once a minute);
- `busy`: every site sends all five of its profiles (two site caps, two baselines, one TxProfile) and
  stores its cycle, as after a change of every site's limits at once (the worker forgets what it sent
  before the cycle): the write-ahead, the sends, the memory after the answers and a decision row each.

each with two forms of the snapshot read, side by side in one run (`--forms`), taking turns:

- `batched`: `snapshot.load_sites`, one statement per table for each batch of 100 sites (`Runner._batch`
  since session 10);
- `per-site`: `snapshot.load_site` per site, ~9 statements a site, as the loop read until then (the
  baseline: the benchmark hands the `Runner` no batch read, so `plan_cycle` reads each site alone).

The first cycle (`takeover`) is every site's first under its worker: it restores the (absent) memory
and sends everything. At the end (`--retakeovers`) each worker restarts in place (its `Runner` forgets
its sites; the leases stay its own) and takes them all over again from the memories saved meanwhile,
once per form of the memory restore:

- `batched`: `take_over_many`, one read of `surplus_loop_memory` per batch of 100 new sites (the loop
  since session 10);
- `per-site`: `take_over_many` called for one site at a time, one read per site, as the loop restored
  until then (the baseline).
 Per-stage figures are summed over the workers' calls (seconds of wall time inside
each stage; a stage's calls run one after another within a worker, except the sends, whose sites run
side by side within a batch: `asyncio.gather`, measured as the wall time the batches' `_finish` calls
cover); the cycle time runs from the first worker's start to the last worker's end. `other` is worker
time outside the stages (the loop's own code, thread hops, waiting for the GIL).
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks import _bench_sites as bench  # noqa: E402

PERIOD_S = 10
T0 = datetime(2026, 6, 21, 11, 0, tzinfo=UTC)
SAMPLE_AGES_S = (90, 60, 30, 0)
CHARGERS_PER_SITE = 2
#: the stages, in the order a cycle runs them; each is the wall time inside the named call(s)
STAGES = (
    ("enabled", "enabled sites read (`enabled_sites`)"),
    ("lease", "lease renewals (`claim_many`, one per 100 sites)"),
    ("takeover", "memory restore of new sites (`take_over_many`)"),
    ("read", "snapshot read (`load_sites` per batch, or `load_site` per site)"),
    ("decide", "`decide()`"),
    ("memory", "memory writes (`save_many`, one per 100 sites)"),
    ("send", "profiles to the fake CSMS (`send_command`)"),
    ("store", "decision rows (`_persist_many`, one per 100 sites)"),
)
#: the sites of a batch send side by side (`asyncio.gather`): their wall time together, which the cycle
#: waits for
FINISH = ("finish", "the batches' sends, wall (`Runner._finish`, a batch's sites side by side)")


def seed(db: Any, site_ids: range, workers: int) -> None:
    """Devices, chargers, sessions, rate units, settings (leased to their worker) and fresh samples."""
    from sqlalchemy import insert, update

    from pipelet_app.db.models import (
        Charger,
        ChargingSession,
        DeviceVariable,
        Site,
        SiteDevice,
        SiteSample,
        SiteSurplus,
    )
    from pipelet_app.domain.site_energy import floor_minute

    db.execute(
        update(Site).values(grid_limit_a=32.0, phases=3, latitude=52.5, longitude=13.4, has_pv_meter=True)
    )
    devices, chargers, sessions, variables, samples = [], [], [], [], []
    lease = T0 + timedelta(seconds=3 * PERIOD_S)
    surplus = bench.lease_rows(site_ids, workers, lease, mode="pv-priority", interval_s=PERIOD_S)
    per_site = 2 + CHARGERS_PER_SITE
    for site_id in site_ids:
        base = (site_id - 1) * per_site
        devices.append({"id": base + 1, "site_id": site_id, "asset_id": f"grid-{site_id}", "kind": "grid"})
        devices.append({"id": base + 2, "site_id": site_id, "asset_id": f"pv-{site_id}", "kind": "pv"})
        charging = site_id % 2 == 1
        for n in range(1, CHARGERS_PER_SITE + 1):
            charger_id = (site_id - 1) * CHARGERS_PER_SITE + n
            cp = f"CP-{site_id}-{n}"
            devices.append(
                {
                    "id": base + 2 + n,
                    "site_id": site_id,
                    "asset_id": f"ocpp-{cp}",
                    "kind": "charger",
                    "charge_point_id": cp,
                    "connector_id": 1,
                }
            )
            chargers.append(
                {
                    "id": charger_id,
                    "charge_point_id": cp,
                    "site_id": site_id,
                    "ocpp_version": "1.6",
                    "is_online": True,
                    "status": "Available",
                }
            )
            variables.append(
                {
                    "charger_id": charger_id,
                    "component": "OCPP16",
                    "variable": "ChargingScheduleAllowedChargingRateUnit",
                    "value": "Current",
                }
            )
            if charging and n == 1:
                sessions.append(
                    {
                        "transaction_id": f"tx-{site_id}",
                        "station_id": cp,
                        "source": "ocpp-wallbox",
                        "charger_id": charger_id,
                        "connector_id": 1,
                        "start_utc": T0 - timedelta(minutes=30),
                        "energy_wh": 2000.0,
                    }
                )
        for k, age in enumerate(SAMPLE_AGES_S):
            ts = T0 - timedelta(seconds=age)
            car = 3000.0 + k if charging else 0.0
            for device_id, kind, power in (
                (base + 1, "grid", -1500.0 + 7 * k + car),  # 1.5 kW export before the car, moving a little
                (base + 2, "pv", 6000.0 + 5 * k),
                (base + 3, "charger", car),
                (base + 4, "charger", 0.0),
            ):
                samples.append(
                    {
                        "site_id": site_id,
                        "minute": floor_minute(ts),
                        "device_id": device_id,
                        "ts": ts,
                        "kind": kind,
                        "power_w": power,
                    }
                )
    for model, rows in (
        (SiteDevice, devices),
        (Charger, chargers),
        (ChargingSession, sessions),
        (DeviceVariable, variables),
        (SiteSurplus, surplus),
        (SiteSample, samples),
    ):
        for start in range(0, len(rows), 20_000):
            db.execute(insert(model), rows[start : start + 20_000])


def _timed(stages: dict[str, float], counts: dict[str, int], name: str, fn: Callable) -> Callable:
    """`fn` with its wall time added to `stages[name]` (sync or async)."""
    if asyncio.iscoroutinefunction(fn):

        async def wrapped_async(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                stages[name] += time.perf_counter() - t
                counts[name] += 1

        return wrapped_async

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            stages[name] += time.perf_counter() - t
            counts[name] += 1

    return wrapped


def _union(spans: list[tuple[float, float]]) -> float:
    """The wall time the spans cover together (the sites of a batch finish side by side)."""
    total, end = 0.0, -math.inf
    for a, b in sorted(spans):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def _worker(url: str, worker: int, workers: int, sites: int, plan: list[str], barrier: Any, out: Any) -> None:
    """One lease holder: a `Runner` over all enabled sites (it wins only its own), one tick per cycle of
    `plan`, the stage timings of each sent to `out`. Runs in its own process."""
    os.environ["DATABASE_URL"] = url
    import logging

    logging.disable(logging.INFO)
    from pipelet_app.actuation import loop, memory
    from pipelet_app.db import reset_engine

    reset_engine()
    stages: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)

    async def fake_csms(charge_point_id: str, command: str, payload: dict, timeout: float) -> dict:
        return {"status": "Accepted"}

    loop.send_command = _timed(stages, counts, "send", fake_csms)  # type: ignore[assignment]
    batched_read = loop._load_many

    def read_form(site_ids: list[int], now: datetime) -> dict:
        """`per-site` cycles see no batch read: `plan_cycle` then reads each site alone (`_load`)."""
        return batched_read(site_ids, now) if form == "batched" else {}

    loop._load_many = _timed(stages, counts, "read", read_form)  # type: ignore[assignment]
    form = "batched"
    restore_form = "batched"
    batched_takeover = _timed(stages, counts, "takeover", loop.take_over_many)

    def takeover_form(site_ids: list[int], owner: str, now: datetime) -> dict:
        """`per-site` retakeovers restore each site alone: one memory read per site, the loop before."""
        if restore_form == "per-site":
            return {site_id: batched_takeover([site_id], owner, now)[site_id] for site_id in site_ids}
        return batched_takeover(site_ids, owner, now)

    loop.take_over_many = takeover_form  # type: ignore[assignment]
    for name, attr in (
        ("enabled", "enabled_sites"),
        ("lease", "claim_many"),
        ("read", "_load"),
        ("decide", "decide"),
        ("store", "_persist_many"),
    ):
        setattr(loop, attr, _timed(stages, counts, name, getattr(loop, attr)))
    memory.save_many = _timed(stages, counts, "memory", memory.save_many)  # type: ignore[assignment]
    owner = f"bench-worker-{worker}"
    runner = loop.Runner(owner=owner, max_sites=math.ceil(sites / workers))
    spans: list[tuple[float, float]] = []  # each site's send-and-store part (`Runner._finish`), in wall time
    finish = runner._finish

    async def timed_finish(*args: Any) -> bool:
        t = time.perf_counter()
        try:
            return await finish(*args)
        finally:
            spans.append((t, time.perf_counter()))

    runner._finish = timed_finish  # type: ignore[method-assign]

    async def cycles() -> None:
        nonlocal form, restore_form
        for k, name in enumerate(plan):
            kind, form = name.split("/") if "/" in name else (name, "batched")
            restore_form = "batched"
            if kind == "retakeover":  # the worker restarts: it takes all its sites over again
                runner.sites.clear()
                restore_form, form = form, "batched"
            if kind == "busy":  # every site forgets what it sent: all its profiles go out, its row is stored
                for state in runner.sites.values():
                    state.sent.clear()
                    state.last_stored = None
            stages.clear()
            counts.clear()
            spans.clear()
            await asyncio.to_thread(barrier.wait)
            began, cpu = time.time(), time.process_time()
            ran = await runner.tick(T0 + timedelta(seconds=PERIOD_S * k))
            ended, cpu = time.time(), time.process_time() - cpu
            out.put(
                {
                    "worker": worker,
                    "cycle": k,
                    "kind": name,
                    "began": began,
                    "ended": ended,
                    "ran": ran,
                    "cpu_s": cpu,
                    "stages": dict(stages) | {"finish": _union(spans)},
                    "counts": dict(counts),
                }
            )

    asyncio.run(cycles())


def postgres_cpu(url: str) -> dict[int, float] | None:
    """CPU seconds used so far by each PostgreSQL backend of the benchmark's database (from /proc: the
    server runs on this box); None for SQLite or when /proc is not readable."""
    if not url.startswith("postgresql"):
        return None
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            pids = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
            tick = os.sysconf("SC_CLK_TCK")
            out = {}
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    return None
                out[int(pid)] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
            return out
    finally:
        engine.dispose()


def summarise(parts: list[dict]) -> dict[str, Any]:
    """One cycle over all workers: its wall time, the stages summed, and the part no stage covers."""
    cycle_s = max(p["ended"] for p in parts) - min(p["began"] for p in parts)
    stages = {name: sum(p["stages"].get(name, 0.0) for p in parts) for name, _ in (*STAGES, FINISH)}
    counts = {name: sum(p["counts"].get(name, 0) for p in parts) for name, _ in STAGES}
    busy_s = sum(p["ended"] - p["began"] for p in parts)
    cpu_s = sum(p["cpu_s"] for p in parts)
    sequential = ("enabled", "lease", "takeover", "read", "decide", "memory", "finish", "store")
    return {
        "cycle_s": cycle_s,
        "sites_run": sum(p["ran"] for p in parts),
        "stages_s": stages,
        "calls": counts,
        "worker_s": busy_s,
        # CPU the worker processes used in the cycle (all their threads): unlike wall time, it does not
        # grow when other work on the box takes the cores
        "worker_cpu_s": cpu_s,
        # worker time in none of the stages run one after another (the loop's own code, thread hops)
        "other_s": busy_s - sum(stages[name] for name in sequential),
    }


def table(results: dict[str, Any], kinds: list[str]) -> str:
    """The kinds of cycle side by side: worker-seconds per stage (summed over the workers) and the cycle."""
    head = " | ".join(f"`{k}`" for k in kinds)
    lines = [f"| stage (s, summed over workers) | {head} |", "|---|" + "---:|" * len(kinds)]
    for name, label in STAGES:
        cells = " | ".join(f"{results[k]['stages_s'][name]:.2f} ({results[k]['calls'][name]})" for k in kinds)
        lines.append(f"| {label} | {cells} |")
    lines.append(
        f"| {FINISH[1]} | " + " | ".join(f"{results[k]['stages_s']['finish']:.2f}" for k in kinds) + " |"
    )
    lines.append(
        "| other (loop code, thread hops) | "
        + " | ".join(f"{results[k]['other_s']:.2f}" for k in kinds)
        + " |"
    )
    lines.append(
        "| CPU: loop workers + PostgreSQL (s) | "
        + " | ".join(
            f"{results[k]['worker_cpu_s']:.1f} + "
            + ("-" if results[k]["database_cpu_s"] is None else f"{results[k]['database_cpu_s']:.1f}")
            for k in kinds
        )
        + " |"
    )
    lines.append(
        "| **cycle (wall)** | " + " | ".join(f"**{results[k]['cycle_s']:.2f}**" for k in kinds) + " |"
    )
    lines.append(
        f"| share of the {PERIOD_S} s period | "
        + " | ".join(f"{results[k]['cycle_s'] / PERIOD_S:.2f}" for k in kinds)
        + " |"
    )
    return "\n".join(lines)


def check(url: str, sites: int, workers: int) -> list[str]:
    """After the run: every site still leased to its worker, a memory row and decision rows per site,
    each written by its owner."""
    problems = bench.lease_problems(url, sites, workers)
    from sqlalchemy import text

    from pipelet_app.db import reset_engine, session_scope

    with session_scope() as db:
        decided = db.execute(text("SELECT count(DISTINCT site_id) FROM surplus_decisions")).scalar_one()
    if decided != sites:
        problems.append(f"decision rows for {decided} of {sites} sites")
    reset_engine()
    return problems


def main(argv: list[str] | None = None) -> int:
    workers, cycles = (2, "lease-holding worker processes"), (3, "cycles of each kind after the takeover")
    parser = bench.lease_parser(__doc__, "pipelet_bench_surplus_loop", workers, cycles)
    parser.add_argument(
        "--forms",
        default="batched,per-site",
        help="snapshot reads: `batched` (load_sites per batch of 100, the loop since session 10) and/or "
        "`per-site` (load_site per site, the loop before: the baseline)",
    )
    parser.add_argument(
        "--retakeovers",
        default="per-site,batched",
        help="at the end, the workers restart and take their sites over again, once per memory restore "
        "form: `batched` (take_over_many per batch of 100, the loop since session 10) and/or `per-site` "
        "(one read per site, the loop before); empty: none",
    )
    args = parser.parse_args(argv)
    with bench.lease_run(args, "surplus-loop-bench-"):
        t = time.perf_counter()
        bench.prepare_sites(args.database_url, args.sites, lambda db, ids: seed(db, ids, args.workers))
        setup_s = time.perf_counter() - t
        # the kinds take turns (steady, busy, steady, ...) so drift in the box's load spreads over all
        forms = [f"{kind}/{form}" for form in args.forms.split(",") for kind in ("steady", "busy")]
        plan = ["takeover/batched"] + [kind for _ in range(args.cycles) for kind in forms]
        plan += [f"retakeover/{form}" for form in args.retakeovers.split(",") if form]
        context = multiprocessing.get_context("spawn")
        barrier, out = context.Barrier(args.workers + 1), context.Queue()  # + 1: this process
        procs = [
            context.Process(
                target=_worker, args=(args.database_url, w, args.workers, args.sites, plan, barrier, out)
            )
            for w in range(args.workers)
        ]
        for p in procs:
            p.start()
        got: dict[int, list[dict]] = defaultdict(list)
        database_cpu: list[float | None] = []
        for _cycle in range(len(plan)):  # start each cycle, and take the database's CPU around it
            before = postgres_cpu(args.database_url)
            barrier.wait(timeout=3600)
            for _ in range(args.workers):
                part = out.get(timeout=3600)
                got[part["cycle"]].append(part)
            after = postgres_cpu(args.database_url)
            database_cpu.append(
                None
                if before is None or after is None
                else sum(after[pid] - before.get(pid, 0.0) for pid in after)
            )
        for p in procs:
            p.join()
        if any(p.exitcode for p in procs):
            print("a worker failed", file=sys.stderr)
            return 1
        cycles = [
            summarise(got[k]) | {"kind": plan[k], "database_cpu_s": database_cpu[k]} for k in range(len(plan))
        ]
        kinds = list(dict.fromkeys(plan))
        results: dict[str, Any] = {
            "sites": args.sites,
            "workers": args.workers,
            "database": args.database_url.split(":")[0],
            "period_s": PERIOD_S,
            "setup_s": round(setup_s, 1),
            "cycles_s": {k: [round(c["cycle_s"], 2) for c in cycles if c["kind"] == k] for k in kinds},
        }
        for kind in kinds:  # the median cycle of each kind, with its stages
            of_kind = sorted((c for c in cycles if c["kind"] == kind), key=lambda c: c["cycle_s"])
            results[kind] = of_kind[len(of_kind) // 2]
        print(json.dumps(results, indent=2, default=lambda x: round(x, 3)))
        print(table(results, kinds), file=sys.stderr)
        problems = check(args.database_url, args.sites, args.workers)
        problems += [
            f"cycle {k} ({c['kind']}) ran {c['sites_run']} of {args.sites} sites"
            for k, c in enumerate(cycles)
            if c["sites_run"] != args.sites
        ]
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
