"""Benchmark of the pricing engine: a million sessions under a time-of-use plan with idle fees.

Sessions are synthetic (no public dataset has meter values and plug-out times of public charging):
starts uniform over 2026 on whole minutes in Europe/Berlin (both DST nights included), charging 20 min
to 6 h at 3.7/7.4/11/22 kW, meter values every 15 minutes while charging (OCPP's usual sample interval),
one at the end of charging and the stop reading after 0-3 h of idling. The plan: 0.39 EUR/kWh base,
weekday peak 17-21 at 0.59, night 22-06 at 0.29, weekend day 08-20 at 0.35, 0.50 session fee, 0.10 EUR
per idle minute after 30 minutes' grace; chargers carry a multiplier of 1 or 1.1.

The baseline is the naive way: walk the session minute by minute, read the wall clock, find the window,
add that minute's energy and time in Decimal. It runs on the first --baseline sessions of the same set,
and its totals are compared with the engine's (they must agree: sessions are on whole minutes).

Then the pay page's first render at phone size in Chromium (pay_page.py: `pipelet run` with localstripe,
20 runs, baseline the not-found page of the same route), unless --engine-only.

Usage (from the repository root):
    .venv/bin/python benchmarks/pricing/run.py --smoke     # 20,000 sessions, baseline on 1,000; 2 renders
    .venv/bin/python benchmarks/pricing/run.py --out benchmarks/pricing/results.json   # 1,000,000; 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from datetime import datetime
from datetime import time as clock
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipelet_app.domain.pricing import Plan, Rate, Schedule, Tariff, Window

ZONE = ZoneInfo("Europe/Berlin")
D = Decimal
WEEKDAYS, WEEKEND = frozenset(range(5)), frozenset({5, 6})
PLAN = Plan(
    base=Rate(per_kwh=D("0.39")),
    session_fee=D("0.50"),
    idle_fee_per_minute=D("0.10"),
    idle_grace_minutes=30,
    windows=(
        Window("peak", Rate(per_kwh=D("0.59")), clock(17), clock(21), weekdays=WEEKDAYS, priority=2),
        Window("night", Rate(per_kwh=D("0.29")), clock(22), clock(6), priority=1),
        Window("weekend", Rate(per_kwh=D("0.35")), clock(8), clock(20), weekdays=WEEKEND, priority=1),
    ),
)
YEAR_START = int(datetime(2026, 1, 1, tzinfo=ZONE).timestamp())
MINUTES_IN_YEAR = 365 * 24 * 60
POWERS_KW = (3.7, 7.4, 11.0, 22.0)
MULTIPLIERS = (D(1), D("1.1"))

Session = tuple[list[tuple[float, float]], float, Decimal]


def make_sessions(rng: random.Random, n: int) -> list[Session]:
    out: list[Session] = []
    for _ in range(n):
        start = YEAR_START + 60 * rng.randrange(MINUTES_IN_YEAR)
        charge_min = rng.randint(20, 360)
        wh_per_min = rng.choice(POWERS_KW) * 1000 / 60
        register = float(rng.randint(0, 5_000_000))
        readings = [(float(start), register)]
        for m in range(15, charge_min, 15):
            readings.append((float(start + 60 * m), register + wh_per_min * m))
        readings.append((float(start + 60 * charge_min), register + wh_per_min * charge_min))
        end = start + 60 * (charge_min + rng.randint(0, 180))
        readings.append((float(end), readings[-1][1]))
        out.append((readings, float(end), rng.choice(MULTIPLIERS)))
    return out


def naive_total(session: Session) -> Decimal:
    """Minute by minute: wall clock -> window -> rate, all in Decimal; rounded per line as the engine."""
    readings, end, multiplier = session
    q = D("0.01")
    energy: dict[str, Decimal] = {}
    last_charging = readings[0][0]
    for (t0, r0), (t1, r1) in pairwise(readings):
        if r1 <= r0:
            continue
        last_charging = t1
        per_minute = (D(repr(r1)) - D(repr(r0))) / D(int((t1 - t0) // 60))
        for t in range(int(t0), int(t1), 60):
            local = datetime.fromtimestamp(t, ZONE)
            label = _window_at(local)
            energy[label] = energy.get(label, D(0)) + per_minute
    total = (PLAN.session_fee * multiplier).quantize(q, ROUND_HALF_UP)
    rates = dict(PLAN.tiers)
    for label, wh in energy.items():
        kwh = wh.quantize(D(1), ROUND_HALF_UP) / 1000
        total += (kwh * rates[label].per_kwh * multiplier).quantize(q, ROUND_HALF_UP)
    idle_minutes = 0
    for _ in range(int(last_charging), int(end), 60):
        idle_minutes += 1
    billed = max(0, idle_minutes - PLAN.idle_grace_minutes)
    if billed:
        total += (billed * PLAN.idle_fee_per_minute * multiplier).quantize(q, ROUND_HALF_UP)
    return total


def _window_at(local: datetime) -> str:
    now, today, yesterday = local.time(), local.weekday(), (local.weekday() - 1) % 7
    best: tuple[tuple[int, int], str] | None = None
    for i, w in enumerate(PLAN.windows):
        if w.end <= w.start:
            inside = (today in w.weekdays and now >= w.start) or (yesterday in w.weekdays and now < w.end)
        else:
            inside = today in w.weekdays and w.start <= now < w.end
        if inside and (best is None or (w.priority, -i) > best[0]):
            best = ((w.priority, -i), w.label)
    return PLAN.base_label if best is None else best[1]


def run(sessions: int, baseline: int, seed: int, chunk: int = 50_000) -> dict:
    rng = random.Random(seed)
    tariff = Tariff(Schedule(PLAN, ZONE), "EUR")
    priced = readings = 0
    engine_s = engine_cpu = 0.0
    revenue = D(0)
    first: list[Session] = []
    first_totals: list[Decimal] = []
    while priced < sessions:
        batch = make_sessions(rng, min(chunk, sessions - priced))
        t0, c0 = time.perf_counter(), time.process_time()
        totals = [tariff.price(r, end=end, multiplier=m).total for r, end, m in batch]
        engine_s += time.perf_counter() - t0
        engine_cpu += time.process_time() - c0
        if len(first) < baseline:
            take = baseline - len(first)
            first += batch[:take]
            first_totals += totals[:take]
        revenue += sum(totals, D(0))
        readings += sum(len(r) for r, _, _ in batch)
        priced += len(batch)
    t0, c0 = time.perf_counter(), time.process_time()
    naive = [naive_total(s) for s in first]
    naive_s, naive_cpu = time.perf_counter() - t0, time.process_time() - c0
    mismatches = sum(a != b for a, b in zip(naive, first_totals, strict=True))
    return {
        "sessions": priced,
        "readings_per_session": round(readings / priced, 2),
        "engine": _rates(priced, engine_s, engine_cpu),
        "baseline_per_minute": _rates(len(first), naive_s, naive_cpu),
        "speedup_cpu": round((naive_cpu / len(first)) / (engine_cpu / priced), 1),
        "baseline_total_mismatches": mismatches,
        "revenue_eur": str(revenue),
        "goal_sessions_per_s": 50_000,
        "python": platform.python_version(),
        "seed": seed,
    }


def _rates(n: int, wall: float, cpu: float) -> dict:
    """Wall and CPU time: on a shared machine CPU seconds are the engine's cost, wall the waiting."""
    return {
        "sessions": n,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "sessions_per_wall_s": round(n / wall),
        "sessions_per_cpu_s": round(n / cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="20,000 sessions, baseline on 1,000")
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=10_000, help="sessions the naive loop prices")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--pay-runs", type=int, default=20, help="first renders of the pay page")
    parser.add_argument("--engine-only", action="store_true", help="skip the pay page in Chromium")
    args = parser.parse_args()
    sessions, baseline = (20_000, 1_000) if args.smoke else (args.sessions, args.baseline)
    load_before = [round(x, 2) for x in os.getloadavg()]
    result = run(sessions, baseline, args.seed)
    result["load_average_at_start"] = load_before
    print(json.dumps(result, indent=2), flush=True)
    if result["baseline_total_mismatches"]:
        sys.exit("engine and per-minute baseline disagree")
    if not args.engine_only:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import pay_page

        result["pay_page"] = pay_page.measure(2 if args.smoke else args.pay_runs)
        print(json.dumps({"pay_page": result["pay_page"]}, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
