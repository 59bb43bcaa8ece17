"""Probe: why did Pipelet's controller restart a car, and where did the grid energy into the cars go?

Runs the same scenario as run.py / sweep.py (Pipelet only, no LP, no evcc-default) with a decision log
around the controller, then
- pairs every restart (a charger told to charge again after a pause, the car still plugged in) with the
  pause before it and classifies the pause by the state the car was in just before (`CAUSES`), and
  counts the restarts by their number in the session (first, second, third or later),
- attributes the grid energy into the cars to the state each car's decision in force was in
  (`STATES`: the reason text of `controller._reason`), from the meter readings the controller sees,
- and with `--log CAR` prints every on/off decision of that car (or `all`) with its reason.

    .venv/bin/python benchmarks/surplus/probe.py --data /work/shared/data                    # run.py's day
    .venv/bin/python benchmarks/surplus/probe.py --data /work/shared/data --car-days 2019-05-08 --log all
    .venv/bin/python benchmarks/surplus/probe.py --data /work/shared/data --sweep --jobs 2   # sweep's 20 days
    .venv/bin/python benchmarks/surplus/probe.py --data /work/shared/data --scenario home --home-sessions 3986
    .venv/bin/python benchmarks/surplus/probe.py --data /work/shared/data --scenario home --sweep

Times are local (America/Denver, the PV site). The grid split is an estimate from the snapshots (the
meters of the step before each decision); its total is printed beside the simulator's exact figure.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from multiprocessing import Pool
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]  # this checkout's pipelet_app before an installed one

from bench_data import DAYS, SESSIONS, SHARED  # noqa: E402
from scenarios import DENVER, WORKPLACE_DAY, HomeSession, build, home_sessions  # noqa: E402
from sweep import HOME_SESSIONS, spread, weekdays  # noqa: E402

from pipelet_app.domain.surplus import Mode  # noqa: E402
from pipelet_app.domain.surplus.controller import decide  # noqa: E402
from pipelet_app.domain.surplus.model import ChargerDecision, ControllerSettings, SiteSnapshot  # noqa: E402

# the state a charging decision is in, from its reason (controller._reason), first match wins
STATES = (
    ("cover", "covering most of it"),
    ("bridge", "bridging a dip"),
    ("handover", "handing the surplus over"),
    ("phase switch", "switch"),
)
QUICK_S = 300.0  # a restart this soon after its pause is "quick"


@dataclass
class Decision:
    at_s: float
    charging: bool
    limit_a: float
    phases: int
    reason: str
    others_on: int  # other chargers charging in the same cycle
    available_w: float


@dataclass
class Restart:
    car: str
    paused_s: float
    restarted_s: float
    cause: str
    pause_reason: str
    restart_reason: str
    ordinal: int = 1  # the session's first restart, second, ...

    @property
    def gap_min(self) -> float:
        return (self.restarted_s - self.paused_s) / 60.0


@dataclass
class Log:
    decisions: dict[str, list[Decision]] = field(default_factory=lambda: defaultdict(list))
    grid_wh: Counter = field(default_factory=Counter)  # state -> estimated grid Wh into the cars
    last_s: float | None = None


def state_of(decision: Decision) -> str:
    if not decision.charging:
        return "off"
    for name, text in STATES:
        if text in decision.reason:
            return name
    return "on the surplus"


def logged(controller: Any, log: Log) -> Any:
    """`decide` with every decision and the grid energy into the cars written to `log`."""

    def run(snapshot: SiteSnapshot, memory: Any) -> tuple[Sequence[ChargerDecision], Any]:
        now_s = snapshot.time_utc.timestamp()
        if log.last_s is not None:  # the meters of the last step, under the decisions then in force
            dt_h = (now_s - log.last_s) / 3600.0
            ev_w = sum(max(0.0, c.measured_w) for c in snapshot.chargers if c.connected)
            grid_ev_w = min(ev_w, max(0.0, snapshot.grid_w))
            for charger in snapshot.chargers:
                history = log.decisions.get(charger.charger_id)
                if charger.measured_w > 0 and history and ev_w > 0:
                    share = grid_ev_w * charger.measured_w / ev_w
                    log.grid_wh[state_of(history[-1])] += share * dt_h
        log.last_s = now_s
        decisions, memory, available = controller(snapshot, memory)
        on = sum(1 for d in decisions if d.charging)
        connected = {c.charger_id: c.connected for c in snapshot.chargers}
        for d in decisions:
            if not connected.get(d.charger_id):
                log.decisions.pop(d.charger_id, None)  # a new session starts afresh
                continue
            log.decisions[d.charger_id].append(
                Decision(now_s, d.charging, d.limit_a, d.phases, d.reason, on - int(d.charging), available)
            )
        return decisions, memory

    return run


def cause_of(before: Decision | None, pause: Decision) -> str:
    """Why a charging car was paused, from its last charging decision and the pause itself."""
    alone = before is None or before.others_on == 0
    state = "on the surplus" if before is None else state_of(before)
    if state == "handover":
        return "handover end"
    if "ranked higher" in pause.reason:
        return "pushed out" if state == "on the surplus" else f"{state} end, pushed out"
    if alone:
        return f"lone car, {state} end" if state != "on the surplus" else "lone car, dip"
    return f"{state} end (others on)" if state != "on the surplus" else "dip (others on)"


def restarts(log: Log, closed: dict[str, list[list[Decision]]]) -> list[Restart]:
    found = []
    for car, sessions in closed.items():
        for history in sessions:
            started = False
            last_on: Decision | None = None
            pause: tuple[Decision | None, Decision] | None = None
            previous = False
            count = 0
            for d in history:
                if d.charging and not previous:
                    if started and pause is not None:
                        count += 1
                        cause = cause_of(*pause)
                        found.append(
                            Restart(car, pause[1].at_s, d.at_s, cause, pause[1].reason, d.reason, count)
                        )
                    started = True
                elif previous and not d.charging and "energy wanted reached" not in d.reason:
                    pause = (last_on, d)
                if d.charging:
                    last_on = d
                previous = d.charging
    return sorted(found, key=lambda r: r.paused_s)


def clock(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).astimezone(DENVER).strftime("%H:%M:%S")


Job = tuple[str, str, Path, Path, str | HomeSession, str | None, dict[str, Any]]


def probe(job: Job) -> dict[str, Any]:
    kind, day, ghi, sessions, who, show, overrides = job
    settings = replace(ControllerSettings(), **overrides)
    if isinstance(who, HomeSession):
        scenario = build(kind, ghi, sessions, day, home=who)
        name = f"#{who.session_id}"
    else:
        scenario = build(kind, ghi, sessions, day, who)
        name = who
    site = scenario.site_in(Mode.PV_ONLY)
    log = Log()
    closed: dict[str, list[list[Decision]]] = defaultdict(list)

    def inner(snapshot: SiteSnapshot, memory: Any) -> tuple[Sequence[ChargerDecision], Any, float]:
        decision = decide(snapshot, site, memory, settings)
        return decision.chargers, decision.memory, decision.available_w

    def controller(snapshot: SiteSnapshot, memory: Any) -> tuple[Sequence[ChargerDecision], Any]:
        before = {cid: list(history) for cid, history in log.decisions.items()}
        out = logged(inner, log)(snapshot, memory)
        for cid, history in before.items():
            if cid not in log.decisions and history:
                closed[cid].append(history)  # the car left: its session is complete
        return out

    result = scenario.run(site, controller, 10.0)
    for cid, history in log.decisions.items():
        closed[cid].append(history)
    lines = []
    if show:
        for cid, sessions_of in sorted(closed.items()):
            if show != "all" and cid != show:
                continue
            for history in sessions_of:
                previous: Decision | None = None
                for d in history:
                    moved = (
                        previous is None
                        or d.charging != previous.charging
                        or (d.charging and state_of(d) != state_of(previous))
                    )
                    if moved:
                        lines.append(
                            f"{clock(d.at_s)} {cid:<8} {'ON ' if d.charging else 'off'} {d.limit_a:4.1f} A "
                            f"x{d.phases} others {d.others_on}: {d.reason}"
                        )
                    previous = d
    found = restarts(log, closed)
    energy = result.ev_wh
    return {
        "name": name,
        "kind": kind,
        "day": day,
        "restarts": found,
        "grid_wh": dict(log.grid_wh),
        "grid_exact_wh": result.ev_grid_wh,
        "ev_wh": energy,
        "solar_wh": result.ev_solar_wh,
        "cycles": result.summary()["start_stop_cycles"],
        "lines": lines,
    }


def print_run(out: dict[str, Any], detail: bool) -> None:
    grid = out["grid_exact_wh"]
    share = grid / out["ev_wh"] if out["ev_wh"] else 0.0
    print(
        f"{out['kind']} {out['day']} {out['name']}: restarts {out['cycles']}, grid {grid:.0f} Wh "
        f"({share:.2%}) of {out['ev_wh'] / 1000:.1f} kWh, solar {out['solar_wh'] / 1000:.2f} kWh"
    )
    for line in out["lines"]:
        print("  " + line)
    if detail:
        for r in out["restarts"]:
            print(
                f"  restart {r.car:<8} paused {clock(r.paused_s)} restarted {clock(r.restarted_s)} "
                f"({r.gap_min:5.1f} min) {r.cause}{'' if r.ordinal == 1 else f' (restart {r.ordinal})'}"
            )
        split = ", ".join(f"{k} {v:.0f}" for k, v in sorted(out["grid_wh"].items(), key=lambda kv: -kv[1]))
        print(f"  grid Wh into cars by state (estimate {sum(out['grid_wh'].values()):.0f}): {split}")


def summary(outs: list[dict[str, Any]]) -> None:
    causes: Counter = Counter()
    quick: Counter = Counter()
    grid: Counter = Counter()
    for out in outs:
        for r in out["restarts"]:
            causes[r.cause] += 1
            quick[r.cause] += r.gap_min * 60.0 < QUICK_S
        grid.update(out["grid_wh"])
    total = sum(causes.values())
    print(f"\nrestarts by the state before the pause ({total} in {len(outs)} runs):")
    print(f"  {'cause':<34} {'count':>5} {'within 5 min':>12}")
    for cause, count in causes.most_common():
        print(f"  {cause:<34} {count:>5} {quick[cause]:>12}")
    # a session's first restart, its second, its third or later (session 13: what a per-session
    # anti-flap rule could reach), with how many came within 15 min of their pause
    nth: Counter = Counter()
    soon: Counter = Counter()
    for out in outs:
        for r in out["restarts"]:
            nth[min(r.ordinal, 3)] += 1
            soon[min(r.ordinal, 3)] += r.gap_min < 15.0
    names = {1: "1st", 2: "2nd", 3: "3rd+"}
    counts = ", ".join(f"{names[k]} {nth[k]} ({soon[k]} within 15 min)" for k in names)
    print(f"restarts by their number in the session: {counts}")
    exact = sum(out["grid_exact_wh"] for out in outs)
    print(f"grid Wh into cars by state (estimate {sum(grid.values()):.0f}, simulator {exact:.0f}):")
    for state, wh in grid.most_common():
        print(f"  {state:<34} {wh:>8.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--scenario", default="workplace", choices=("workplace", "home"))
    parser.add_argument("--day", default="broken", choices=tuple(DAYS))
    parser.add_argument("--car-days", help="comma-separated ACN days (workplace; default: run.py's)")
    parser.add_argument("--home-sessions", help="comma-separated Trondheim session ids (home)")
    parser.add_argument("--sweep", action="store_true", help="sweep.py's 20 car days or home sessions")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--log", help="print every on/off and state change of this charger id, or 'all'")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a ControllerSettings field"
    )
    args = parser.parse_args()
    types = {f.name: getattr(f.type, "__name__", f.type) for f in fields(ControllerSettings)}
    overrides: dict[str, Any] = {}
    for item in args.set:
        name, _, value = item.partition("=")
        if name not in types:
            parser.error(f"--set: ControllerSettings has no field {name}")
        overrides[name] = (
            value.lower() in ("1", "true", "yes")
            if types[name] == "bool"
            else (int(value) if types[name] == "int" else float(value))
        )
    ghi = args.data / DAYS[args.day]
    if args.scenario == "workplace":
        sessions = args.data / SESSIONS
        if args.sweep:
            whos: list[str | HomeSession] = list(spread(weekdays(sessions, 30), args.count))
        else:
            whos = list((args.car_days or WORKPLACE_DAY).split(","))
    else:
        sessions = args.data / HOME_SESSIONS
        kept = home_sessions(sessions)
        if args.sweep:
            whos = list(spread(kept, args.count))
        elif args.home_sessions:
            by_id = {home.session_id: home for home in kept}
            whos = [by_id[s] for s in args.home_sessions.split(",")]
        else:
            whos = [HomeSession(7.0, 20.0, 30000.0)]
    jobs: list[Job] = [(args.scenario, args.day, ghi, sessions, who, args.log, overrides) for who in whos]
    if args.jobs > 1:
        with Pool(args.jobs) as pool:
            outs = list(pool.imap(probe, jobs))
    else:
        outs = [probe(job) for job in jobs]
    for out in outs:
        print_run(out, detail=True)
    summary(outs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
