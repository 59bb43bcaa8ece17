"""Sweep: does the comparison of run.py hold on other days' cars?

run.py measures Pipelet, evcc-default and the LP optimum on ONE day of ACN cars (2019-05-07, the day the
controller's settings were tuned on) and one home car (07:00-20:00, 30 kWh). This runs the same
comparison -- run.py's `evaluate` and `goals`, scenarios.py's `build` -- on the same two 1-minute PV
days with the cars of other ACN weekdays (workplace) and with real residential sessions (home: one
Trondheim session's plug-in window and delivered energy per run, see `scenarios.home_sessions`).

    .venv/bin/python benchmarks/surplus/sweep.py --data /work/shared/data --smoke     # 2 + 2, broken only
    .venv/bin/python benchmarks/surplus/sweep.py --data /work/shared/data --jobs 2 --out sweep.json  # 80 runs
    .venv/bin/python benchmarks/surplus/sweep.py --report benchmarks/surplus/sweep.json   # the recorded run
    .venv/bin/python benchmarks/surplus/sweep.py --data /work/shared/data --jobs 2 --cache /tmp/base.json

`--cache FILE` keeps what does not depend on Pipelet's controller (the LP optimum, the 6 A bound and
evcc-default's run: 20-50 % of a run's time) between runs, keyed by the scenario, the cars, the PV day,
the data files and the sources those results come from (evcc.py, optimum.py, scenarios.py, run.py,
the simulator and the model classes evcc-default reads); a changed source starts afresh.

Progress rows go to stderr; the per-run table and the aggregates per scenario and PV day to stdout.

Workplace days: the weekdays in the ACN file with at least `--min-sessions` sessions, without the tuning
day, then `--count` of them evenly spread over the four months (or `--car-days` a list). Home sessions:
the Trondheim sessions `home_sessions` keeps, `--count` of them evenly spread over the file in plug-in
order (or `--home-sessions` a list of session ids). Deterministic: the same arguments give the same
days, sessions and figures.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import inspect
import json
import statistics
import sys
import time
from collections import Counter
from datetime import date
from multiprocessing import Pool
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]  # this checkout's pipelet_app before an installed one

import evcc  # noqa: E402
import optimum  # noqa: E402
import run  # noqa: E402
import scenarios  # noqa: E402
from bench_data import DAYS, SESSIONS, SHARED  # noqa: E402
from run import baseline, evaluate, goals  # noqa: E402
from scenarios import WORKPLACE_DAY, HomeSession, build, home_sessions  # noqa: E402

from pipelet_app.domain.surplus import model, simulation  # noqa: E402

HOME_SESSIONS = "sessions/trondheim_residential_sessions.csv"
SCENARIOS = ("workplace", "home")

# (metric, True if higher is better); compared against evcc-default on the rounded figures of run.py
COMPARED = (
    ("of_optimum", True),
    ("grid_share", False),
    ("start_stop_cycles", False),
    ("phase_switches", False),
    ("profiles_sent", False),  # reported, not among the goals
)


def weekdays(sessions: Path, min_sessions: int) -> list[str]:
    """Weekdays (local arrival date) with at least `min_sessions` sessions, without the tuning day."""
    with sessions.open() as handle:
        counts = Counter(row["arrival"][:10] for row in csv.DictReader(handle))
    return [
        day
        for day in sorted(counts)
        if counts[day] >= min_sessions and date.fromisoformat(day).weekday() < 5 and day != WORKPLACE_DAY
    ]


def spread(days: list[Any], count: int) -> list[Any]:
    """`count` of `days`, evenly spaced from the first to the last."""
    if count >= len(days):
        return days
    if count == 1:
        return days[:1]
    return [days[round(i * (len(days) - 1) / (count - 1))] for i in range(count)]


Job = tuple[str, str | HomeSession, str, Path, Path, float, dict[str, Any] | None]


def one(job: Job) -> tuple[dict[str, Any], dict[str, Any]]:
    """One run: the entry, and the baseline (optimum, bound, evcc-default) it used (cached or computed)."""
    kind, cars, pv_day, ghi, sessions, control_s, base = job
    began = time.perf_counter()
    if isinstance(cars, HomeSession):
        scenario = build(kind, ghi, sessions, pv_day, home=cars)
    else:
        scenario = build(kind, ghi, sessions, pv_day, cars)
    base = base or baseline(scenario)
    entry = evaluate(scenario, control_s, None, base)
    if isinstance(cars, HomeSession):
        entry["car_day"] = cars.plug_in[:10]
        entry["session"] = cars.session_id
        entry["plugged"] = _plugged(cars)
    else:
        entry["car_day"] = cars
    entry["goals"] = goals(entry)
    entry["seconds"] = round(time.perf_counter() - began, 1)
    return entry, base


def source_digest() -> str:
    """The sources the baseline results come from besides the data files (not Pipelet's controller)."""
    digest = hashlib.sha256()
    for module in (evcc, optimum, run, scenarios, simulation):
        digest.update(inspect.getsource(module).encode())
    for cls in (model.Mode, model.PriceSeries, model.SessionPrefs, model.ChargerInput, model.Circuit):
        digest.update(inspect.getsource(cls).encode())
    for cls in (model.SiteConfig, model.SiteSnapshot, model.ChargerDecision):
        digest.update(inspect.getsource(cls).encode())
    return digest.hexdigest()[:16]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _plugged(home: HomeSession) -> str:
    """'HH:MM-HH:MM' on the plug-in day's clock, '+N' when it leaves N days later."""

    def clock(hours: float) -> str:
        minutes = round(hours * 60) % (24 * 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    days = int(home.depart_h // 24)
    return f"{clock(home.arrive_h)}-{clock(home.depart_h)}" + (f"+{days}" if days else "")


def versus(ours: float, base: float, higher_better: bool) -> str:
    if ours == base:
        return "equal"
    return "better" if (ours > base) == higher_better else "worse"


def row(entry: dict[str, Any]) -> str:
    ours, base = entry["runs"]["pipelet"], entry["runs"]["evcc-default"]
    missed = [k for k, ok in entry["goals"].items() if not ok and not k.startswith("reported")]
    if entry["scenario"] == "home":  # the session id and its plug-in window instead of the car count
        who = f"{entry['car_day']:<11} {entry['day']:<7} {'#' + entry['session']:>6} {entry['plugged']:<13}"
    else:
        who = f"{entry['car_day']:<11} {entry['day']:<7} {entry['cars']:>4}"
    return (
        f"{who} {entry['wanted_wh'] / 1000:>7.1f} "
        f"{entry['optimum_solar_wh'] / 1000:>7.1f} {entry['min_current_bound']:>6.3f} "
        f"{ours['of_optimum']:>6.3f} {base['of_optimum']:>6.3f} "
        f"{ours['grid_share'] * 100:>6.2f} {base['grid_share'] * 100:>6.2f} "
        f"{ours['start_stop_cycles']:>4} {base['start_stop_cycles']:>4} "
        f"{ours['phase_switches']:>3} {base['phase_switches']:>3} "
        f"{ours['profiles_sent']:>5} {base['profiles_sent']:>5}  "
        + (", ".join(missed) if missed else "all met")
    )


_TAIL = (
    f"{'wanted':>7} {'opt kWh':>7} {'6A bnd':>6} "
    f"{'of opt (ours/evcc)':>13} {'grid % (o/e)':>13} {'cycles':>9} {'ph sw':>7} {'profiles':>11}  "
    "goals missed (run.py's checks)"
)
HEAD = {
    "workplace": f"{'car day':<11} {'pv day':<7} {'cars':>4} {_TAIL}",
    "home": f"{'plug-in day':<11} {'pv day':<7} {'session':>6} {'plugged':<13} {_TAIL}",
}


_FORMAT = {"of_optimum": "{:.4f}", "grid_share": "{:.2%}"}


def aggregate(entries: list[dict[str, Any]]) -> list[str]:
    lines = []
    for metric, higher in COMPARED:
        ours = [e["runs"]["pipelet"][metric] for e in entries]
        base = [e["runs"]["evcc-default"][metric] for e in entries]
        worst = min if higher else max
        tally = Counter(versus(o, b, higher) for o, b in zip(ours, base, strict=True))
        show = _FORMAT.get(metric, "{:g}").format
        lines.append(
            f"  {metric:<18} median {show(statistics.median(ours)):>7} vs {show(statistics.median(base)):>7}"
            f"   worst {show(worst(ours)):>7} vs {show(worst(base)):>7}   "
            f"ours better {tally['better']:>2} / equal {tally['equal']:>2} / worse {tally['worse']:>2}"
        )
    checks = list(entries[0]["goals"])
    for check in checks:
        met = sum(1 for e in entries if e["goals"][check])
        lines.append(f"  {check:<48} met on {met:>2} of {len(entries)}")
    return lines


def report(entries: list[dict[str, Any]], pv_days: list[str]) -> None:
    kinds = [kind for kind in SCENARIOS if any(e["scenario"] == kind for e in entries)]
    for number, kind in enumerate(kinds):
        mine = [e for e in entries if e["scenario"] == kind]
        if number:
            print()
        print(HEAD[kind])
        print("\n".join(row(e) for e in mine))
        what = "car days" if kind == "workplace" else "home sessions"
        for pv_day in pv_days:
            chosen = [e for e in mine if e["day"] == pv_day]
            print(
                f"\n{kind}, {pv_day} PV day, {len(chosen)} {what} "
                "(ours vs evcc; worst: lowest of opt, else highest)"
            )
            print("\n".join(aggregate(chosen)))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="2 car days / sessions, broken-cloud day only")
    parser.add_argument("--days", default="broken,clear", help="PV days: broken, clear or both")
    parser.add_argument("--scenarios", default="workplace,home", help="workplace, home or both")
    parser.add_argument(
        "--count", type=int, default=20, help="car days and home sessions, each spread evenly over its file"
    )
    parser.add_argument("--min-sessions", type=int, default=30, help="a weekday's sessions at least")
    parser.add_argument("--car-days", help="comma-separated car days (YYYY-MM-DD) instead of the spread")
    parser.add_argument("--home-sessions", help="comma-separated Trondheim session ids instead of the spread")
    parser.add_argument("--control-s", type=float, default=10.0, help="Pipelet's control interval")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (figures do not depend on it)")
    parser.add_argument("--out", type=Path, help="write results JSON here")
    parser.add_argument("--data", type=Path, default=SHARED, help="the shared data folder (../shared/data)")
    parser.add_argument("--report", type=Path, help="print the tables of a saved --out JSON; run nothing")
    parser.add_argument("--cache", type=Path, help="keep optimum, bound and evcc-default's runs in this file")
    args = parser.parse_args()
    if args.report:
        saved = json.loads(args.report.read_text())
        report(saved["results"], sorted({e["day"] for e in saved["results"]}, key=list(DAYS).index))
        return 0
    kinds = args.scenarios.split(",")
    if not kinds or set(kinds) - set(SCENARIOS):
        parser.error(f"--scenarios takes {' and/or '.join(SCENARIOS)}")
    paths = {"workplace": args.data / SESSIONS, "home": args.data / HOME_SESSIONS}
    pv_days = ["broken"] if args.smoke else args.days.split(",")
    for path in [*(paths[kind] for kind in kinds), *(args.data / DAYS[day] for day in pv_days)]:
        if not path.exists():
            parser.error(f"data file {path} not found (../shared/data beside the repo, or --data)")
    count = 2 if args.smoke else args.count
    car_days: list[str] = []
    homes: list[HomeSession] = []
    if "workplace" in kinds:
        if args.car_days:
            car_days = args.car_days.split(",")
        else:
            car_days = spread(weekdays(paths["workplace"], args.min_sessions), count)
        print(f"car days ({len(car_days)}): {', '.join(car_days)}", flush=True)
    if "home" in kinds:
        candidates = home_sessions(paths["home"])
        if args.home_sessions:
            by_id = {home.session_id: home for home in candidates}
            wanted = args.home_sessions.split(",")
            if missing := [s for s in wanted if s not in by_id]:
                parser.error(f"home sessions not among the kept ones: {', '.join(missing)}")
            homes = [by_id[s] for s in wanted]
        else:
            homes = spread(candidates, count)
        print(
            f"home sessions ({len(homes)} of {len(candidates)} kept): "
            + ", ".join(f"#{h.session_id} {h.plug_in[:10]} {_plugged(h)}" for h in homes),
            flush=True,
        )
    cached: dict[str, Any] = {}
    digest = ""
    files: dict[Path, str] = {}
    if args.cache:
        digest = source_digest()
        files = {
            path: file_digest(path)
            for path in [*paths.values(), *(args.data / d for d in DAYS.values())]
            if path.exists()
        }
        cached = json.loads(args.cache.read_text()) if args.cache.exists() else {}

    def key(kind: str, cars: str | HomeSession, day: str) -> str:
        """The sources, the two data files the run reads, and which run it is."""
        who = cars.session_id if isinstance(cars, HomeSession) else cars
        return (
            f"{digest}:{files.get(paths[kind], '')}:{files.get(args.data / DAYS[day], '')}:{kind}:{day}:{who}"
        )

    runs = [
        (kind, cars, d, key(kind, cars, d))
        for kind in kinds
        for d in pv_days
        for cars in (car_days if kind == "workplace" else homes)
    ]
    jobs: list[Job] = [
        (kind, cars, d, args.data / DAYS[d], paths[kind], args.control_s, cached.get(key))
        for kind, cars, d, key in runs
    ]
    began = time.perf_counter()
    entries = []
    with Pool(args.jobs) if args.jobs > 1 else _Serial() as pool:
        for (*_, key), (entry, base) in zip(runs, pool.imap(one, jobs), strict=True):  # in job order
            entries.append(entry)
            cached[key] = base
            print(f"{len(entries)}/{len(jobs)} {row(entry)}", file=sys.stderr, flush=True)  # progress
    if args.cache:
        fresh = {key: cached[key] for key in cached if key.startswith(f"{digest}:")}
        args.cache.write_text(json.dumps(fresh) + "\n")
    print(f"{len(entries)} runs in {time.perf_counter() - began:.0f} s wall\n")
    report(entries, pv_days)
    if args.out:
        saved = {"car_days": car_days, "home_sessions": [h.session_id for h in homes], "results": entries}
        args.out.write_text(json.dumps(saved, indent=2) + "\n")
    return 0


class _Serial:
    """Pool's `imap` in this process (no workers for --jobs 1)."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap(self, func, items):
        return map(func, items)


if __name__ == "__main__":
    raise SystemExit(main())
