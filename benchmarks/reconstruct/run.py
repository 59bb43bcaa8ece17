"""Benchmark of the session reconstructor on real residential charging sessions (Trondheim, 2018-2020).

Each user of the Trondheim dataset is treated as one wallbox. Its lifetime counter is simulated from the
true sessions (charging from plug-in at a plausible power, capped by the plug-in duration), sampled like a
poller would (every 30 and every 5 minutes), fed through `pipelet_app.domain.reconstruct` and through a
naive baseline, and scored against the truth. Why a simulation: no public dataset has both inverter-cloud
counter polls and the true sessions behind them; this one gives real arrival, duration and energy
patterns, the hard part for a reconstructor.

Scenarios:
  clean  regular polls, exact counter: measures segmentation and timing alone.
  messy  what clouds really deliver: +-90 s poll jitter, 3 % missed polls, 2 % duplicate rows, rows
         shuffled, counter in whole Wh, 2 W standby counted by the meter, and one firmware reset to zero
         per wallbox at a random moment.
  status clean polls plus the power and an OCPP-like status (Charging / SuspendedEV / Available) that
         some brands report: shows what status adds beyond the counter-only bound (back-to-back sessions
         split at an 'Available' poll; the end widened to the plug-out).

The upper bound is the share of true sessions any method could separate from those samples: a session
whose charging touches no poll interval that another session's charging also touches, with at least one
interval without charging between it and each neighbour.

Usage (from the repository root):
    .venv/bin/python benchmarks/reconstruct/run.py            # full run, writes results.json
    .venv/bin/python benchmarks/reconstruct/run.py --smoke    # a few users, < 20 s
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipelet_app.domain.reconstruct import ReconstructConfig, reconstruct  # noqa: E402
from pipelet_app.domain.snapshots import Snapshot  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "sessions" / "trondheim_residential_sessions.csv"
# The first six users' rows of the same file (CC BY, Sørensen et al. 2021), so `--smoke` runs in a
# clone that has no ../shared beside it, as CI's may not.
SMOKE_DATA = Path(__file__).with_name("smoke_sessions.csv")
LOCAL = ZoneInfo("Europe/Oslo")
POWERS_KW = (3.7, 7.4, 11.0)
STANDBY_W = 2.0
START_COUNTER_WH = 1_000_000.0


@dataclass(frozen=True, slots=True)
class TrueSession:
    """A real session and the charging simulated for it; times are epoch seconds (UTC)."""

    plug_in: float
    plug_out: float | None
    charge_start: float
    charge_end: float
    energy_wh: float
    knee: float  # end of the constant-power phase; charge_end when there is no taper
    knee_wh: float  # energy charged by the knee

    def charged_at(self, t: float) -> float:
        """Energy this session has charged by time t (zero-length sessions are a step at their start)."""
        if t >= self.charge_end:
            return self.energy_wh
        if t <= self.charge_start:
            return 0.0
        if t <= self.knee:
            return self.knee_wh * (t - self.charge_start) / (self.knee - self.charge_start)
        return self.knee_wh + (self.energy_wh - self.knee_wh) * (t - self.knee) / (
            self.charge_end - self.knee
        )


@dataclass(frozen=True, slots=True)
class Found:
    """A session as a method found it: bracketing polls, estimated start/end, energy."""

    lo: float
    hi: float
    start: float
    end: float
    energy_wh: float


@dataclass(slots=True)
class Tally:
    """Everything a method scores over all wallboxes of one run."""

    true_sessions: int = 0
    separable: int = 0
    found: int = 0
    matched: int = 0
    spurious: int = 0  # found sessions that overlap no true session at all
    snapshots: int = 0
    seconds: float = 0.0
    true_energy_wh: float = 0.0
    knowable_wh: float = 0.0  # the simulated counter's increase over the polls, net of the reset
    found_energy_wh: float = 0.0
    unattributed_wh: float = 0.0
    energy_errors: list[float] = field(default_factory=list)
    start_errors_min: list[float] = field(default_factory=list)
    end_errors_min: list[float] = field(default_factory=list)
    plugout_errors_min: list[float] = field(default_factory=list)


# --- the true sessions ------------------------------------------------------------------------------------


def local_epoch(text: str) -> float | None:
    """`dd.mm.yyyy HH:MM` Oslo local time to epoch seconds; `NA` (no plug-out recorded) to None."""
    try:
        naive = datetime.strptime(text.strip(), "%d.%m.%Y %H:%M")
    except ValueError:
        return None
    return naive.replace(tzinfo=LOCAL).timestamp()


def load_users(path: Path) -> dict[str, list[tuple[float, float | None, float]]]:
    """Rows per user: (plug-in, plug-out or None, kWh); rows without plug-in or energy are skipped."""
    users: dict[str, list[tuple[float, float | None, float]]] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            plug_in = local_epoch(row["Start_plugin"])
            try:
                kwh = float(row["El_kWh"].replace(",", "."))
            except ValueError:
                continue
            if plug_in is None or kwh <= 0:
                continue
            users.setdefault(row["User_ID"], []).append((plug_in, local_epoch(row["End_plugout"]), kwh))
    return users


def simulate_sessions(
    rows: list[tuple[float, float | None, float]], power_w: float, rng: random.Random | None = None
) -> list[TrueSession]:
    """Charging from plug-in at `power_w`, finished early enough to fit the plug-in time.

    With `rng` (messy scenario) each car draws 80-100 % of the wallbox power and tapers: the last 20 %
    of the energy at half power, as batteries do near full. One wallbox cannot hold two cars: a plug-out
    recorded after the next plug-in (18 such rows in the data) is clipped to that plug-in.
    """
    rows = sorted(rows)
    sessions: list[TrueSession] = []
    for index, (plug_in, recorded_out, kwh) in enumerate(rows):
        next_in = rows[index + 1][0] if index + 1 < len(rows) else None
        plug_out = recorded_out
        if plug_out is not None and next_in is not None:
            plug_out = min(plug_out, next_in)
        if plug_out is not None and plug_out < plug_in:
            plug_out = plug_in
        energy = kwh * 1000.0
        power = power_w * (rng.uniform(0.8, 1.0) if rng else 1.0)
        bulk_share = 0.8 if rng else 1.0
        bulk_s = bulk_share * energy / power * 3600.0
        needed_s = bulk_s + (1.0 - bulk_share) * energy / (power / 2) * 3600.0
        available_s = needed_s
        if plug_out is not None:
            available_s = min(available_s, max(plug_out - plug_in, 60.0))
        if next_in is not None:
            available_s = min(available_s, next_in - plug_in)
        squeeze = available_s / needed_s
        end = plug_in + available_s
        knee = plug_in + bulk_s * squeeze
        sessions.append(TrueSession(plug_in, plug_out, plug_in, end, energy, knee, bulk_share * energy))
    return sessions


# --- polls ------------------------------------------------------------------------------------------------


def counter_readings(sessions: list[TrueSession], times: list[float]) -> list[float]:
    """The lifetime counter at each (sorted) poll time, by one sweep over sessions and polls together."""
    readings: list[float] = []
    done = 0.0
    index = 0
    for t in times:
        while index < len(sessions) and t >= sessions[index].charge_end:
            done += sessions[index].energy_wh
            index += 1
        value = done
        if index < len(sessions):
            value += sessions[index].charged_at(t)
        readings.append(START_COUNTER_WH + value)
    return readings


def poll_times(sessions: list[TrueSession], interval_s: float) -> list[float]:
    """A poller's grid from before the first session to after the last one ends."""
    first = (min(s.charge_start for s in sessions) // interval_s - 1) * interval_s
    last = max(max(s.charge_end, s.plug_out or 0.0) for s in sessions) + 2 * interval_s
    count = int((last - first) // interval_s) + 1
    return [first + k * interval_s for k in range(count)]


Polls = tuple[list[Snapshot], float]  # the rows, and the counter increase they can possibly reveal


def clean_polls(sessions: list[TrueSession], interval_s: float, _rng: random.Random) -> Polls:
    times = poll_times(sessions, interval_s)
    readings = counter_readings(sessions, times)
    rows = [Snapshot(datetime.fromtimestamp(t, UTC), wh) for t, wh in zip(times, readings, strict=True)]
    return rows, readings[-1] - readings[0]


def messy_polls(sessions: list[TrueSession], interval_s: float, rng: random.Random) -> Polls:
    """Jitter, missed polls, standby draw, a reset, whole-Wh readings, duplicates, shuffled rows.

    What charged between the last poll before the reset and the reset itself is lost to any method, so
    it is taken out of the knowable increase.
    """
    times = sorted(t + rng.uniform(-90, 90) for t in poll_times(sessions, interval_s) if rng.random() >= 0.03)
    values = [
        wh + STANDBY_W * (t - times[0]) / 3600.0
        for t, wh in zip(times, counter_readings(sessions, times), strict=True)
    ]
    reset_at = rng.uniform(times[0], times[-1])
    at_reset = (
        START_COUNTER_WH + charged_before(sessions, reset_at) + STANDBY_W * (reset_at - times[0]) / 3600
    )
    first_after = bisect.bisect_left(times, reset_at)
    lost = at_reset - values[first_after - 1] if first_after > 0 else 0.0
    rows = [
        Snapshot(datetime.fromtimestamp(t, UTC), float(round(value - (at_reset if k >= first_after else 0))))
        for k, (t, value) in enumerate(zip(times, values, strict=True))
    ]
    rows += [rng.choice(rows) for _ in range(len(rows) // 50)]
    rng.shuffle(rows)
    return rows, values[-1] - values[0] - lost


def status_polls(sessions: list[TrueSession], interval_s: float, rng: random.Random) -> Polls:
    """Clean polls that also carry the instantaneous power and the wallbox status."""
    rows, knowable = clean_polls(sessions, interval_s, rng)
    index = 0
    with_status: list[Snapshot] = []
    for row in rows:
        t = row.time_utc.timestamp()
        while index < len(sessions) and t >= _unplugged_at(sessions[index]):
            index += 1
        status, power = "Available", 0.0
        if index < len(sessions) and t >= sessions[index].plug_in:
            status, power = "SuspendedEV", 0.0
            session = sessions[index]
            if session.charge_start <= t < session.charge_end:
                status, power = "Charging", _power_at(session, t)
        with_status.append(Snapshot(row.time_utc, row.lifetime_wh, power, status))
    return with_status, knowable


def _unplugged_at(session: TrueSession) -> float:
    return max(session.charge_end, session.plug_out if session.plug_out is not None else session.charge_end)


def _power_at(session: TrueSession, t: float) -> float:
    if t < session.knee:
        return session.knee_wh / (session.knee - session.charge_start) * 3600.0
    return (session.energy_wh - session.knee_wh) / (session.charge_end - session.knee) * 3600.0


def charged_before(sessions: list[TrueSession], t: float) -> float:
    return counter_readings(sessions, [t])[0] - START_COUNTER_WH


# --- methods ----------------------------------------------------------------------------------------------


def pipelet_method(snapshots: list[Snapshot], interval_s: float) -> tuple[list[Found], float]:
    """The reconstructor with its default thresholds; only the nominal poll interval is passed."""
    result = reconstruct(
        snapshots, brand="bench", system="wb", config=ReconstructConfig(interval_s=interval_s)
    )
    found = [
        Found(
            s.start_edge_utc.timestamp(),
            s.end_edge_utc.timestamp(),
            s.start_utc.timestamp(),
            (s.end_utc or s.end_edge_utc).timestamp(),
            s.energy_wh,
        )
        for s in result.sessions
    ]
    return found, result.unattributed_wh


def naive_method(snapshots: list[Snapshot], _interval_s: float) -> tuple[list[Found], float]:
    """Baseline: sort by time; any increase between consecutive polls is charging; runs are sessions."""
    rows = sorted((s.time_utc.timestamp(), s.lifetime_wh) for s in snapshots)
    found: list[Found] = []
    run_start: float | None = None
    energy = 0.0
    for (t0, v0), (t1, v1) in pairwise(rows):
        if v1 > v0:
            if run_start is None:
                run_start, energy = t0, 0.0
            energy += v1 - v0
            last_end = t1
        elif run_start is not None:
            found.append(Found(run_start, last_end, run_start, last_end, energy))
            run_start = None
    if run_start is not None:
        found.append(Found(run_start, last_end, run_start, last_end, energy))
    return found, 0.0


# --- scoring ----------------------------------------------------------------------------------------------


def touched(session: TrueSession, times: list[float]) -> tuple[int, int]:
    """First and last poll interval (k = times[k]..times[k+1]) in which the counter rises for this session."""
    if session.charge_end <= session.charge_start:
        k = bisect.bisect_left(times, session.charge_start) - 1
        return k, k
    first = bisect.bisect_right(times, session.charge_start) - 1
    last = bisect.bisect_left(times, session.charge_end) - 1
    return first, max(first, last)


def separable_flags(sessions: list[TrueSession], times: list[float]) -> list[bool]:
    """The upper bound: alone in its intervals, with a charge-free interval to each neighbour."""
    spans = [touched(s, times) for s in sessions]
    flags = []
    for index, (first, last) in enumerate(spans):
        before_ok = index == 0 or spans[index - 1][1] + 1 < first
        after_ok = index + 1 == len(spans) or last + 1 < spans[index + 1][0]
        flags.append(before_ok and after_ok)
    return flags


def overlaps(truth: TrueSession, found: Found) -> bool:
    if truth.charge_end <= truth.charge_start:
        return found.lo < truth.charge_start <= found.hi
    return truth.charge_start < found.hi and truth.charge_end > found.lo


def match(truths: list[TrueSession], founds: list[Found]) -> tuple[list[tuple[int, int]], int]:
    """One-to-one pairs (a found session overlapping exactly one true session, and vice versa), and the
    number of found sessions overlapping none."""
    by_truth: dict[int, list[int]] = {}
    by_found: dict[int, list[int]] = {}
    j0 = 0
    for i, truth in enumerate(truths):
        while j0 < len(founds) and founds[j0].hi <= truth.charge_start and founds[j0].hi < truth.charge_end:
            j0 += 1
        j = j0
        while j < len(founds) and founds[j].lo < max(truth.charge_end, truth.charge_start + 1e-9):
            if overlaps(truth, founds[j]):
                by_truth.setdefault(i, []).append(j)
                by_found.setdefault(j, []).append(i)
            j += 1
    pairs = [(i, js[0]) for i, js in by_truth.items() if len(js) == 1 and len(by_found[js[0]]) == 1]
    return pairs, len(founds) - len(by_found)


def score(tally: Tally, truths: list[TrueSession], founds: list[Found], unattributed: float) -> None:
    tally.found += len(founds)
    tally.found_energy_wh += sum(f.energy_wh for f in founds)
    tally.unattributed_wh += unattributed
    pairs, spurious = match(truths, founds)
    tally.spurious += spurious
    for i, j in pairs:
        truth, found = truths[i], founds[j]
        tally.matched += 1
        tally.energy_errors.append(abs(found.energy_wh - truth.energy_wh) / truth.energy_wh)
        tally.start_errors_min.append(abs(found.start - truth.charge_start) / 60)
        tally.end_errors_min.append(abs(found.end - truth.charge_end) / 60)
        if truth.plug_out is not None:
            tally.plugout_errors_min.append(abs(found.end - truth.plug_out) / 60)


# --- driver -----------------------------------------------------------------------------------------------

Method = Callable[[list[Snapshot], float], tuple[list[Found], float]]
METHODS: dict[str, Method] = {"pipelet": pipelet_method, "naive": naive_method}
SCENARIOS = {"clean": clean_polls, "messy": messy_polls, "status": status_polls}


def user_power_w(user: str, seed: int, fixed_kw: float | None) -> float:
    if fixed_kw is not None:
        return fixed_kw * 1000.0
    return random.Random(f"{seed}-{user}").choice(POWERS_KW) * 1000.0


def run_case(
    users: dict[str, list[tuple[float, float | None, float]]],
    scenario: str,
    interval_s: float,
    seed: int,
    fixed_kw: float | None,
) -> dict[str, Tally]:
    tallies = {name: Tally() for name in METHODS}
    for user in sorted(users):
        rng = random.Random(f"{seed}-{user}-{scenario}-{interval_s}")
        truths = simulate_sessions(
            users[user], user_power_w(user, seed, fixed_kw), rng if scenario == "messy" else None
        )
        snapshots, knowable_wh = SCENARIOS[scenario](truths, interval_s, rng)
        times = sorted({s.time_utc.timestamp() for s in snapshots})
        separable = sum(separable_flags(truths, times))
        for name, method in METHODS.items():
            tally = tallies[name]
            tally.true_sessions += len(truths)
            tally.separable += separable
            tally.true_energy_wh += sum(t.energy_wh for t in truths)
            tally.knowable_wh += knowable_wh
            tally.snapshots += len(snapshots)
            began = time.perf_counter()
            founds, unattributed = method(snapshots, interval_s)
            tally.seconds += time.perf_counter() - began
            score(tally, truths, founds, unattributed)
    return tallies


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(tally: Tally) -> dict[str, float]:
    recall = tally.matched / tally.true_sessions
    bound = tally.separable / tally.true_sessions
    return {
        "true_sessions": tally.true_sessions,
        "found_sessions": tally.found,
        "matched": tally.matched,
        "spurious": tally.spurious,
        "recall": recall,
        "precision": tally.matched / tally.found if tally.found else float("nan"),
        "upper_bound": bound,
        "recall_over_bound": recall / bound if bound else float("nan"),
        "energy_error_mean_pct": 100 * statistics.fmean(tally.energy_errors) if tally.energy_errors else 0.0,
        "energy_error_p99_pct": 100 * pct(tally.energy_errors, 0.99),
        "start_error_median_min": pct(tally.start_errors_min, 0.5),
        "start_error_p90_min": pct(tally.start_errors_min, 0.9),
        "end_error_median_min": pct(tally.end_errors_min, 0.5),
        "end_error_p90_min": pct(tally.end_errors_min, 0.9),
        "plugout_error_median_min": pct(tally.plugout_errors_min, 0.5),
        "true_energy_kwh": tally.true_energy_wh / 1000,
        "session_energy_kwh": tally.found_energy_wh / 1000,
        "unattributed_kwh": tally.unattributed_wh / 1000,
        "counter_increase_kwh": tally.knowable_wh / 1000,
        "energy_balance_wh": tally.found_energy_wh + tally.unattributed_wh - tally.knowable_wh,
        "snapshots": tally.snapshots,
        "snapshots_per_s": tally.snapshots / tally.seconds if tally.seconds else float("nan"),
    }


def print_table(results: list[dict[str, object]]) -> None:
    header = (
        f"{'scenario':8} {'poll':>5} {'method':8} {'recall':>7} {'prec':>7} {'bound':>7} {'r/bound':>8} "
        f"{'E err%':>7} {'start p50/p90 min':>18} {'end p50/p90 min':>16} {'kWh found/true':>17} "
        f"{'snap/s':>9} {'spurious':>8} {'plug-out p50':>12}"
    )
    print(header)
    for row in results:
        s = row["summary"]
        assert isinstance(s, dict)
        print(
            f"{row['scenario']:8} {row['interval_min']:>4}m {row['method']:8} {s['recall']:7.4f} "
            f"{s['precision']:7.4f} {s['upper_bound']:7.4f} {s['recall_over_bound']:8.4f} "
            f"{s['energy_error_mean_pct']:7.3f} "
            f"{s['start_error_median_min']:8.1f}/{s['start_error_p90_min']:<9.1f}"
            f"{s['end_error_median_min']:7.1f}/{s['end_error_p90_min']:<8.1f}"
            f"{s['session_energy_kwh']:9.1f}/{s['true_energy_kwh']:<8.1f}"
            f"{s['snapshots_per_s']:9.0f} {s['spurious']:8d} {s['plugout_error_median_min']:12.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="4 wallboxes only, finishes in seconds")
    parser.add_argument("--users", type=int, default=0, help="limit to the first N users (0 = all)")
    parser.add_argument("--intervals", default="30,5", help="poll intervals in minutes, comma-separated")
    parser.add_argument("--scenarios", default="clean,messy,status")
    parser.add_argument(
        "--power-kw", type=float, default=None, help="one charge power for all (default mixed)"
    )
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--data", type=Path, default=None, help=f"sessions CSV (default {DATA}; --smoke: {SMOKE_DATA.name})"
    )
    parser.add_argument("--out", type=Path, default=None, help="write results JSON here")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    data = args.data or (SMOKE_DATA if args.smoke else DATA)
    if not data.exists():
        parser.error(f"--data: {data} not found (the Trondheim sessions CSV of ../shared/data)")
    users = load_users(data)
    limit = 4 if args.smoke else args.users
    if limit:
        users = {user: users[user] for user in sorted(users)[:limit]}
    results: list[dict[str, object]] = []
    for scenario in args.scenarios.split(","):
        for interval_min in (float(x) for x in args.intervals.split(",")):
            tallies = run_case(users, scenario, interval_min * 60, args.seed, args.power_kw)
            for method, tally in tallies.items():
                results.append(
                    {
                        "scenario": scenario,
                        "interval_min": interval_min,
                        "method": method,
                        "summary": summary(tally),
                    }
                )
    print_table(results)
    print(f"{len(users)} wallboxes, {time.perf_counter() - began:.1f} s")
    if args.out:
        meta = {"users": len(users), "seed": args.seed, "power_kw": args.power_kw or "mixed 3.7/7.4/11"}
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
