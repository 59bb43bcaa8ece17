"""Events: Pipelet's and evcc-default's on/off decisions per car, side by side, on one car day.

For each car day, both controllers run in the same virtual site (Pipelet every 10 s, evcc-default every
30 s, as run.py), every on/off of every charger is logged with the site's surplus (PV minus house, from
the meters the controller sees), and each of Pipelet's restarts (a start after a pause, the car still
plugged in) is printed with what evcc-default did with that car and how many cars each had on:

    .venv/bin/python benchmarks/surplus/events.py --data /work/shared/data --car-days 2019-05-21,2019-08-26
    .venv/bin/python benchmarks/surplus/events.py --data /work/shared/data --car-days 2019-05-21 --timeline

Times are local (America/Denver). Only a tool to read the runs with; run.py / sweep.py give the figures.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

from bench_data import DAYS, SESSIONS, SHARED  # noqa: E402
from evcc import evcc_default  # noqa: E402
from probe import clock  # noqa: E402
from scenarios import build  # noqa: E402
from sweep import spread, weekdays  # noqa: E402

from pipelet_app.domain.surplus import Mode  # noqa: E402
from pipelet_app.domain.surplus.controller import decide  # noqa: E402
from pipelet_app.domain.surplus.model import ChargerDecision, ControllerSettings, SiteSnapshot  # noqa: E402


@dataclass
class Event:
    at_s: float
    car: str
    on: bool
    limit_a: float
    phases: int
    surplus_w: float  # PV minus house at the decision, from the meters
    cars_on: int  # chargers on after this cycle
    delivered_wh: float
    reason: str


def logged(controller: Any, events: list[Event], session_of: dict[str, int]) -> Any:
    state: dict[str, bool] = {}

    def run(snapshot: SiteSnapshot, memory: Any) -> tuple[Sequence[ChargerDecision], Any]:
        decisions, memory = controller(snapshot, memory)
        surplus = -snapshot.grid_w + sum(c.measured_w for c in snapshot.chargers if c.connected)
        by_id = {c.charger_id: c for c in snapshot.chargers}
        on = sum(1 for d in decisions if d.charging and by_id[d.charger_id].connected)
        for d in decisions:
            c = by_id[d.charger_id]
            if not c.connected:
                if d.charger_id in state:
                    state.pop(d.charger_id)
                    session_of[d.charger_id] = session_of.get(d.charger_id, 0) + 1
                continue
            was = state.get(d.charger_id, False)
            if d.charging != was:
                car = f"{d.charger_id}#{session_of.get(d.charger_id, 0)}"
                events.append(
                    Event(
                        snapshot.time_utc.timestamp(),
                        car,
                        d.charging,
                        d.limit_a,
                        d.phases,
                        surplus,
                        on,
                        c.delivered_wh,
                        d.reason,
                    )
                )
            state[d.charger_id] = d.charging
        return decisions, memory

    return run


def restarts(events: list[Event]) -> list[tuple[Event, Event]]:
    """(pause, restart) pairs: a start of a car that has started before in its session."""
    out, last_off, started = [], {}, set()
    for e in events:
        if e.on:
            if e.car in started and e.car in last_off:
                out.append((last_off[e.car], e))
            started.add(e.car)
        else:
            last_off[e.car] = e
    return out


def state_at(events: list[Event], car: str, at_s: float) -> str:
    """evcc's state of `car` at `at_s`: on/off and since when, or not started yet."""
    last = None
    for e in events:
        if e.car == car and e.at_s <= at_s:
            last = e
    first = next((e for e in events if e.car == car and e.on), None)
    if last is None:
        return "not started" + (f" (first start {clock(first.at_s)})" if first else " (never)")
    return f"{'on' if last.on else 'off'} since {clock(last.at_s)}"


def cars_on_at(events: list[Event], at_s: float) -> int:
    on: dict[str, bool] = {}
    for e in events:
        if e.at_s > at_s:
            break
        on[e.car] = e.on
    return sum(on.values())


def evcc_side(theirs: list[Event], pause: Event, start: Event) -> str:
    """What evcc-default did with the car of one of Pipelet's restarts: a category for the summary."""
    mine = [e for e in theirs if e.car == pause.car]
    ons = [e for e in mine if e.on]
    if not ons or ons[0].at_s > start.at_s:
        return "not started before our restart"
    if ons[0].at_s > pause.at_s:
        return "first started between our pause and restart"
    last = [e for e in mine if e.at_s <= pause.at_s][-1]
    if not last.on:
        return "off at our pause (paused earlier or full)"
    if all(e.on for e in mine if pause.at_s < e.at_s <= start.at_s):
        return "kept on through our pause"
    return "on at our pause, paused before our restart"


def one_day(args: tuple[Path, str, dict[str, Any]]) -> dict[str, Any]:
    data, day, overrides = args
    scenario = build("workplace", data / DAYS["broken"], data / SESSIONS, "broken", day)
    site = scenario.site_in(Mode.PV_ONLY)
    settings = replace(ControllerSettings(), **overrides)
    ours: list[Event] = []
    theirs: list[Event] = []

    def pipelet(snapshot: SiteSnapshot, memory: Any) -> tuple[Sequence[ChargerDecision], Any]:
        result = decide(snapshot, site, memory, settings)
        return result.chargers, result.memory

    scenario.run(site, logged(pipelet, ours, {}), 10.0)
    scenario.run(site, logged(evcc_default, theirs, {}), 30.0)
    return {"day": day, "ours": ours, "theirs": theirs, "cars": scenario.cars}


def summary(outs: list[dict[str, Any]]) -> None:
    kinds: Counter = Counter()
    per_car = Counter()  # restarts per car session: (ours - evcc's) summed where ours are more / fewer
    for out in outs:
        for pause, start in restarts(out["ours"]):
            kinds[evcc_side(out["theirs"], pause, start)] += 1
        ours = Counter(p.car for p, _ in restarts(out["ours"]))
        theirs = Counter(p.car for p, _ in restarts(out["theirs"]))
        for car in set(ours) | set(theirs):
            per_car["ours more"] += max(0, ours[car] - theirs[car])
            per_car["evcc more"] += max(0, theirs[car] - ours[car])
            per_car["both"] += min(ours[car], theirs[car])
    total_theirs = sum(len(restarts(out["theirs"])) for out in outs)
    print(f"\nrestarts: ours {sum(kinds.values())}, evcc-default {total_theirs}")
    print("what evcc-default did with the car of each of ours:")
    for kind, count in kinds.most_common():
        print(f"  {kind:<45} {count:>4}")
    print(
        f"per car session: restarts both had {per_car['both']}, ours beyond evcc's {per_car['ours more']}, "
        f"evcc's beyond ours {per_car['evcc more']}"
    )


def kw(event: Event) -> str:
    return f"{event.surplus_w / 1000:4.1f} kW"


def show(out: dict[str, Any], timeline: bool) -> None:
    ours, theirs = out["ours"], out["theirs"]
    ro, rt = restarts(ours), restarts(theirs)
    print(f"\n== {out['day']}: restarts ours {len(ro)}, evcc-default {len(rt)}")
    for car in sorted(out["cars"], key=lambda c: c.arrive_s):
        print(
            f"  car {car.charger_id:<6} {clock(car.arrive_s)}-{clock(car.depart_s)} "
            f"{car.energy_wh / 1000:5.1f} kWh x{car.phases} {car.max_a:.0f} A"
            + (f" (takes {car.car_max_a:.0f} A)" if car.car_max_a else "")
        )
    for pause, start in ro:
        print(
            f"  ours {pause.car:<8} off {clock(pause.at_s)} ({kw(pause)}, {pause.cars_on} on, "
            f"{pause.delivered_wh / 1000:4.1f} kWh) on {clock(start.at_s)} ({kw(start)}, "
            f"{start.cars_on} on) | evcc at pause: {state_at(theirs, pause.car, pause.at_s)}, "
            f"{cars_on_at(theirs, pause.at_s)} on; at restart: {state_at(theirs, pause.car, start.at_s)}, "
            f"{cars_on_at(theirs, start.at_s)} on -> {evcc_side(theirs, pause, start)}"
        )
        print(f"       pause: {pause.reason[:110]}")
    for pause, start in rt:
        print(
            f"  evcc {pause.car:<8} off {clock(pause.at_s)} ({kw(pause)}, {pause.cars_on} on) "
            f"on {clock(start.at_s)} ({kw(start)}, {start.cars_on} on) | ours at pause: "
            f"{state_at(ours, pause.car, pause.at_s)}"
        )
    if timeline:
        merged = sorted([("ours", e) for e in ours] + [("evcc", e) for e in theirs], key=lambda x: x[1].at_s)
        for who, e in merged:
            print(
                f"    {clock(e.at_s)} {who:<4} {e.car:<8} {'ON ' if e.on else 'off'} "
                f"{e.limit_a:4.1f} A x{e.phases} surplus {kw(e)}, {e.cars_on} on, "
                f"{e.delivered_wh / 1000:5.2f} kWh" + (f"  {e.reason[:80]}" if who == "ours" else "")
            )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--car-days", help="comma-separated ACN days (default: sweep.py's 20)")
    parser.add_argument("--timeline", action="store_true")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    overrides = {}
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name] = float(value)
    days = args.car_days.split(",") if args.car_days else list(spread(weekdays(args.data / SESSIONS, 30), 20))
    jobs = [(args.data, day, overrides) for day in days]
    if args.jobs > 1:
        from multiprocessing import Pool

        with Pool(args.jobs) as pool:
            outs = list(pool.imap(one_day, jobs))
    else:
        outs = [one_day(job) for job in jobs]
    for out in outs:
        show(out, args.timeline)
    summary(outs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
