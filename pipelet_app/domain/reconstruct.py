"""Brand-agnostic reconstruction of charging sessions from a wallbox's lifetime-counter snapshots.

Only Enphase exports native sessions; for every other inverter brand Pipelet polls a cumulative import
counter (plus power and status when the brand gives them) and this module turns those polls into
sessions. It is pure: snapshots in, sessions and warnings out, no I/O, so the poller, the CLI and the
benchmark all run the very same code.

How it works, and why:

1. Clean. Rows are sorted by time; rows in the same whole second are duplicates (cloud timestamps are
   second-resolution, and it keeps transaction ids unique). Among conflicting duplicates the highest
   reading wins, so the result never depends on the order rows arrived in.
2. Energy per interval. A counter drop of at most `jitter_wh` is read jitter (the high-water mark is
   kept). A larger drop is a reset (meter replaced, firmware): the reading after it counts as energy
   charged since a reset to zero when it is physically plausible for the interval, otherwise it is a new
   baseline and the interval counts zero. Either way a warning says so.
3. Active intervals. An interval is charging when its increase exceeds `noise_wh` *and* its mean power
   exceeds `idle_w`; this keeps standby draw, rounding and phantom increments out of sessions, even over
   long gaps. Energy in the other intervals is reported as unattributed, so
   `sum(session energy) + unattributed_wh == counter_increase_wh` always holds.
4. Sessions. Runs of consecutive active intervals, split at a snapshot whose status says the car was
   unplugged, and merged across a flat stretch when every snapshot in it says the car stayed plugged in
   (a pause) or, optionally, when the stretch is shorter than `merge_pause_s`. Status also widens a
   session to the plug-in and plug-out it reports.
5. Times. Start and end are estimated inside the bracketing polls from the charge power (power readings,
   else the session's own full intervals, else the wallbox's typical power), so a 30-minute poll still
   gives minute-level starts when the power is known.

Transaction ids. `pv-<brand>-<system>-<epoch seconds of the start edge>`. The start edge is the *last
snapshot before the session at which the wallbox was not known to be in it*: the poll before the counter
started rising, or, with status, the poll before the one that first saw the car plugged in. It depends
only on polls taken before the session began, so it is fixed the moment the session first shows and
never moves when the session completes or more data arrives (estimated start times may still be refined;
ids do not follow them). A readable string, rather than a uuid5, because it sorts by time, can be traced
back to the poll by eye, and `op_charging_sessions.transaction_id` has no length limit. A session still
running at the last snapshot is returned with `ongoing=True` and `end_utc=None`.

For the poller, per wallbox: `reconstruct(snapshots, brand=..., system=..., config=ReconstructConfig(
interval_s=...))` over every stored snapshot from the previous run's `resume_from_utc` on (or all of
them); UPSERT each session into `op_charging_sessions` by `transaction_id` (`id_tag = pv-<brand>`, the
brand lower-cased as in the id); keep the new `resume_from_utc`; log the warnings. In such a windowed run
the first session may carry a `started-before-data` warning that only reflects the window.

Limits, by nature of the data: sessions whose charging touches the same or adjacent poll intervals are
one session (the benchmark's upper bound); with status, a car unplugged and another plugged in between
two polls looks exactly like a pause and is merged; a poll backfilled later between a session's start
edge and its first rise would move the edge (and so the id), so ids assume polls are stored as taken.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from itertools import pairwise

from pipelet_app.domain.snapshots import Snapshot, SnapshotLike, as_snapshot

REASON = "pv-reconstructed"
MAX_WARNINGS_PER_CODE = 20


class ChargerState(Enum):
    """What a snapshot's status (or power) says about the car at that instant."""

    IDLE = "idle"
    PLUGGED = "plugged"
    CHARGING = "charging"
    FAULT = "fault"
    UNKNOWN = "unknown"


IN_SESSION = frozenset({ChargerState.PLUGGED, ChargerState.CHARGING})

# Checked in order on the status squeezed to lowercase letters and digits; the first match wins, which is
# why negations ("unplugged", "not connected", "unavailable") come before the words they contain.
STATUS_PATTERNS: tuple[tuple[str, ChargerState], ...] = (
    ("fault", ChargerState.FAULT),
    ("error", ChargerState.FAULT),
    ("unavailable", ChargerState.FAULT),
    ("offline", ChargerState.FAULT),
    ("unplug", ChargerState.IDLE),
    ("disconnect", ChargerState.IDLE),
    ("notconnected", ChargerState.IDLE),
    ("notplugged", ChargerState.IDLE),
    ("nocar", ChargerState.IDLE),
    ("notcharg", ChargerState.UNKNOWN),
    ("suspend", ChargerState.PLUGGED),
    ("paus", ChargerState.PLUGGED),
    ("finish", ChargerState.PLUGGED),
    ("prepar", ChargerState.PLUGGED),
    ("plugged", ChargerState.PLUGGED),
    ("connected", ChargerState.PLUGGED),
    ("waiting", ChargerState.PLUGGED),
    ("waitcar", ChargerState.PLUGGED),
    ("complete", ChargerState.PLUGGED),
    ("occupied", ChargerState.PLUGGED),
    ("available", ChargerState.IDLE),
    ("idle", ChargerState.IDLE),
    ("standby", ChargerState.IDLE),
    ("charg", ChargerState.CHARGING),
)


@dataclass(frozen=True, slots=True)
class ReconstructConfig:
    """Thresholds of the reconstructor; the defaults suit residential wallboxes polled every 30 min."""

    interval_s: float = 1800.0  # nominal poll interval; gaps are judged against it
    noise_wh: float = 5.0  # an interval must gain more than this to count as charging
    idle_w: float = 10.0  # ... and its mean power must exceed this (standby over long gaps stays out)
    jitter_wh: float = 10.0  # counter drops up to this are read jitter, larger ones are resets
    max_power_w: float = 44_000.0  # above any AC wallbox: beyond it an increase is implausible
    gap_factor: float = 2.0  # an interval longer than gap_factor * interval_s is a gap (missed polls)
    merge_pause_s: float = 0.0  # > 0: merge sessions across flat stretches this short, without status

    def __post_init__(self) -> None:
        for name in ("interval_s", "max_power_w", "gap_factor"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")
        for name in ("noise_wh", "idle_w", "jitter_wh", "merge_pause_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


@dataclass(frozen=True, slots=True)
class ReconstructedSession:
    """One session as `op_charging_sessions` stores it (`reason = pv-reconstructed`).

    `start_edge_utc`/`end_edge_utc` are the bracketing polls (the session lies between them);
    `start_utc`/`end_utc` are the estimates inside them. `meter_*_wh` are the raw counter at the edges.
    """

    transaction_id: str
    start_utc: datetime
    end_utc: datetime | None
    energy_wh: float
    start_edge_utc: datetime
    end_edge_utc: datetime
    meter_start_wh: float
    meter_stop_wh: float
    ongoing: bool
    reason: str = REASON


@dataclass(frozen=True, slots=True)
class ReconstructionWarning:
    """Something in the data the user should know about; `code` is stable, `message` is for humans."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class Reconstruction:
    """Sessions in time order, warnings, and the energy balance that lets callers check the result."""

    sessions: tuple[ReconstructedSession, ...]
    warnings: tuple[ReconstructionWarning, ...]
    counter_increase_wh: float  # increase of the counter over all snapshots, net of resets
    unattributed_wh: float  # part of it below the noise threshold, in no session
    resume_from_utc: datetime | None = None  # next run needs snapshots from here on (see resume_point)


@dataclass(slots=True)
class _Series:
    """Cleaned snapshots as parallel lists; interval k runs from sample k to sample k + 1."""

    times: list[float]
    raw: list[float]
    powers: list[float | None]
    states: list[ChargerState]
    energy: list[float] = field(default_factory=list)
    active: list[bool] = field(default_factory=list)


@dataclass(slots=True)
class _Run:
    """A session under construction: active intervals first..last, then widened to edges lo..hi."""

    first: int
    last: int
    lo: int = 0
    hi: int = 0


class _Warnings:
    """Collects warnings, capping each code so a year of missed polls stays readable."""

    def __init__(self) -> None:
        self.items: list[ReconstructionWarning] = []
        self.counts: Counter[str] = Counter()

    def add(self, code: str, message: str) -> None:
        self.counts[code] += 1
        if self.counts[code] <= MAX_WARNINGS_PER_CODE:
            self.items.append(ReconstructionWarning(code, message))

    def result(self) -> tuple[ReconstructionWarning, ...]:
        extra = [
            ReconstructionWarning(code, f"{count - MAX_WARNINGS_PER_CODE} more like the above")
            for code, count in sorted(self.counts.items())
            if count > MAX_WARNINGS_PER_CODE
        ]
        return tuple(self.items + extra)


def id_prefix(brand: str, system: str) -> str:
    """`pv-<brand>-<system>`; the brand is lower-cased so 'Huawei' and 'huawei' cannot make two rows."""
    brand_part = brand.strip().lower()
    system_part = system.strip()
    if not brand_part or not system_part:
        raise ValueError("brand and system must not be empty")
    return f"pv-{brand_part}-{system_part}"


def transaction_id(brand: str, system: str, start_edge_utc: datetime) -> str:
    """Deterministic id from (brand, system, start-edge second): re-runs UPSERT instead of duplicating."""
    return f"{id_prefix(brand, system)}-{math.floor(start_edge_utc.timestamp())}"


def classify_status(status: str | None) -> ChargerState:
    """Map a cloud's free-text status onto the few states the reconstructor reasons with."""
    return _match_status(status) or ChargerState.UNKNOWN


@lru_cache(maxsize=256)
def _match_status(status: str | None) -> ChargerState | None:
    """The state a status names, or None when no pattern knows it (so it can be reported)."""
    if not status:
        return ChargerState.UNKNOWN
    squeezed = "".join(ch for ch in status.lower() if ch.isalnum())
    for pattern, state in STATUS_PATTERNS:
        if pattern in squeezed:
            return state
    return None


def reconstruct(
    snapshots: Iterable[SnapshotLike],
    *,
    brand: str,
    system: str,
    config: ReconstructConfig | None = None,
) -> Reconstruction:
    """Turn one wallbox's counter snapshots (any order, duplicates allowed) into sessions and warnings.

    `snapshots` may be `Snapshot`s or any snapshot-shaped objects (the adapters' `CounterSnapshot`);
    invalid ones (naive time, NaN or negative counter) are skipped with a warning, not raised, so one bad
    poll cannot stop a wallbox's sessions from being written.
    """
    cfg = config or ReconstructConfig()
    id_prefix(brand, system)  # refuse an empty brand or system before any work
    warnings = _Warnings()
    series = _clean(_valid(snapshots, warnings), cfg, warnings)
    if len(series.times) < 2:
        warnings.add("too-few-snapshots", "fewer than two distinct snapshots: no interval to read")
        resume = _utc(series.times[0]) if series.times else None
        return Reconstruction((), warnings.result(), 0.0, 0.0, resume)
    _interval_energy(series, cfg, warnings)
    _flag_gaps(series, cfg, warnings)
    runs = _widen(_merge(_split_runs(series), series, cfg), series)
    sessions = _build_sessions(runs, series, brand, system, cfg, warnings)
    increase = math.fsum(series.energy)
    unattributed = max(0.0, increase - math.fsum(s.energy_wh for s in sessions))
    if unattributed > 1e-6:
        warnings.add("noise", f"{unattributed:.1f} Wh below the noise threshold belong to no session")
    resume = resume_point(sessions, series, cfg)
    return Reconstruction(tuple(sessions), warnings.result(), increase, unattributed, resume)


def resume_point(
    sessions: Sequence[ReconstructedSession], series: _Series, cfg: ReconstructConfig
) -> datetime:
    """The earliest snapshot a later run must include to reproduce every id this run may still change.

    Lets the poller re-read only `c4_pv_snapshots` from this time on instead of the whole history: an
    ongoing session is re-read from its start edge; otherwise from the last poll that was not inside a
    session (a closed session can no longer grow, so nothing before that poll can change). With
    `merge_pause_s` a closed session may still absorb a later one, so it is re-read as well.
    """
    if sessions and (sessions[-1].ongoing or cfg.merge_pause_s > 0):
        return sessions[-1].start_edge_utc
    for index in range(len(series.times) - 1, -1, -1):
        if series.states[index] not in IN_SESSION:
            return _utc(series.times[index])
    return _utc(series.times[0])


# --- 1. cleaning -------------------------------------------------------------------------------------


def _valid(rows: Iterable[SnapshotLike], warnings: _Warnings) -> list[Snapshot]:
    valid: list[Snapshot] = []
    problems: list[str] = []
    for row in rows:
        try:
            valid.append(as_snapshot(row))
        except (ValueError, TypeError, AttributeError) as exc:
            problems.append(str(exc))
    if problems:
        warnings.add("invalid-snapshot", f"{len(problems)} snapshots skipped; first: {problems[0]}")
    return valid


def _snapshot_key(snapshot: Snapshot) -> tuple[float, float, str]:
    """Total order among same-second rows: highest counter, then power, then status."""
    power = snapshot.power_w if snapshot.power_w is not None else -math.inf
    return (snapshot.lifetime_wh, power, snapshot.status or "")


def _clean(rows: list[Snapshot], cfg: ReconstructConfig, warnings: _Warnings) -> _Series:
    """Sort by time and keep one snapshot per whole second, reporting what was reordered or dropped."""
    stamped = [(row.time_utc.timestamp(), row) for row in rows]
    out_of_order = sum(1 for before, after in pairwise(stamped) if after[0] < before[0])
    if out_of_order:
        warnings.add("out-of-order", f"{out_of_order} rows were out of time order and have been sorted")
    by_second: dict[int, tuple[float, Snapshot]] = {}
    exact = conflicting = 0
    for stamp, row in stamped:
        second = math.floor(stamp)
        kept = by_second.get(second)
        if kept is None:
            by_second[second] = (stamp, row)
            continue
        if kept[1] == row:
            exact += 1
        else:
            conflicting += 1
        if (_snapshot_key(row), stamp) > (_snapshot_key(kept[1]), kept[0]):
            by_second[second] = (stamp, row)
    _report_duplicates(exact, conflicting, warnings)
    ordered = [by_second[second] for second in sorted(by_second)]
    _report_unknown_statuses([row for _, row in ordered], warnings)
    return _series(ordered, cfg)


def _report_duplicates(exact: int, conflicting: int, warnings: _Warnings) -> None:
    if exact:
        warnings.add("duplicates", f"{exact} duplicate rows dropped")
    if conflicting:
        warnings.add(
            "conflicting-duplicates",
            f"{conflicting} rows shared a second with a different reading; the highest reading was kept",
        )


def _report_unknown_statuses(rows: list[Snapshot], warnings: _Warnings) -> None:
    """A status no pattern knows is ignored; say which, so the brand's adapter can map it."""
    unknown = Counter(row.status for row in rows if row.status and _match_status(row.status) is None)
    if unknown:
        examples = ", ".join(f"{status!r} ({count})" for status, count in sorted(unknown.items())[:5])
        warnings.add("unknown-status", f"statuses not understood, treated as unknown: {examples}")


def _series(ordered: list[tuple[float, Snapshot]], cfg: ReconstructConfig) -> _Series:
    return _Series(
        times=[stamp for stamp, _ in ordered],
        raw=[row.lifetime_wh for _, row in ordered],
        powers=[row.power_w for _, row in ordered],
        states=[_state(row, cfg) for _, row in ordered],
    )


def _state(snapshot: Snapshot, cfg: ReconstructConfig) -> ChargerState:
    """Status first; a brand without a usable status still tells 'charging' through its power."""
    state = classify_status(snapshot.status)
    if state is ChargerState.UNKNOWN and snapshot.power_w is not None and snapshot.power_w > cfg.idle_w:
        return ChargerState.CHARGING
    return state


# --- 2. energy per interval --------------------------------------------------------------------------


def _interval_energy(series: _Series, cfg: ReconstructConfig, warnings: _Warnings) -> None:
    """Fill energy and active flags per interval, resolving jitter and resets against a high-water mark."""
    times, raw = series.times, series.raw
    high = raw[0]
    jitter = 0
    energy: list[float] = []
    active: list[bool] = []
    for k in range(len(times) - 1):
        seconds = times[k + 1] - times[k]
        reading = raw[k + 1]
        gained = reading - high
        if gained >= 0:
            high = reading
        elif -gained <= cfg.jitter_wh:
            gained = 0.0
            jitter += 1
        else:
            gained = _reset_energy(k, series, high, cfg, warnings)
            high = reading
        if gained * 3600.0 / seconds > cfg.max_power_w:
            jump = f"counter rose {gained:.0f} Wh in {seconds:.0f} s after {_iso(times[k])}"
            warnings.add("implausible-jump", jump)
        energy.append(gained)
        active.append(gained > cfg.noise_wh and gained * 3600.0 / seconds > cfg.idle_w)
    if jitter:
        warnings.add("counter-jitter", f"{jitter} small counter drops (<= {cfg.jitter_wh:g} Wh) ignored")
    series.energy, series.active = energy, active


def _reset_energy(k: int, series: _Series, high: float, cfg: ReconstructConfig, warnings: _Warnings) -> float:
    """Energy of an interval in which the counter went backwards beyond jitter.

    A firmware reset restarts at zero, so the new reading is energy charged since; a replaced meter may
    start anywhere, so a reading larger than the wallbox could charge in the interval is a new baseline.
    """
    seconds = series.times[k + 1] - series.times[k]
    reading = series.raw[k + 1]
    plausible = reading <= cfg.max_power_w * seconds / 3600.0
    counted = reading if plausible else 0.0
    how = "counted as charged since a reset to zero" if plausible else "taken as a new meter's baseline"
    warnings.add(
        "counter-reset",
        f"counter fell from {high:.0f} Wh to {reading:.0f} Wh between {_iso(series.times[k])} and "
        f"{_iso(series.times[k + 1])}; {reading:.0f} Wh {how}",
    )
    return counted


def _flag_gaps(series: _Series, cfg: ReconstructConfig, warnings: _Warnings) -> None:
    """Missed polls while charging: sessions inside cannot be told apart, so say where that happened.

    A flat gap loses nothing (sparse polling at night is on purpose), so it is not reported.
    """
    limit = cfg.gap_factor * cfg.interval_s
    for k in range(len(series.times) - 1):
        seconds = series.times[k + 1] - series.times[k]
        if seconds > limit and series.energy[k] > cfg.noise_wh:
            warnings.add(
                "gap",
                f"no snapshot for {seconds / 60:.0f} min between {_iso(series.times[k])} and "
                f"{_iso(series.times[k + 1])} (counter +{series.energy[k]:.0f} Wh)",
            )


# --- 3. sessions from active intervals ----------------------------------------------------------------


def _split_runs(series: _Series) -> list[_Run]:
    """Maximal runs of active intervals; an 'unplugged' status between two of them starts a new run."""
    runs: list[_Run] = []
    previous_active = False
    for k, is_active in enumerate(series.active):
        if not is_active:
            previous_active = False
            continue
        if previous_active and series.states[k] is not ChargerState.IDLE:
            runs[-1].last = k
        else:
            runs.append(_Run(first=k, last=k))
        previous_active = True
    return runs


def _merge(runs: list[_Run], series: _Series, cfg: ReconstructConfig) -> list[_Run]:
    """Join runs separated by a pause: car plugged in throughout, or (if enabled) a short flat stretch."""
    merged: list[_Run] = []
    for run in runs:
        if merged and _is_pause(merged[-1], run, series, cfg):
            merged[-1].last = run.last
        else:
            merged.append(run)
    return merged


def _is_pause(before: _Run, after: _Run, series: _Series, cfg: ReconstructConfig) -> bool:
    gap_states = series.states[before.last + 1 : after.first + 1]
    if all(state in IN_SESSION for state in gap_states):
        return True
    if cfg.merge_pause_s <= 0 or ChargerState.IDLE in gap_states:
        return False
    return series.times[after.first] - series.times[before.last + 1] <= cfg.merge_pause_s


def _widen(runs: list[_Run], series: _Series) -> list[_Run]:
    """Set each run's edges, widened over polls whose status says the car was already/still plugged in.

    A widened edge never crosses the neighbouring session's edge, so sessions cannot overlap.
    """
    last_sample = len(series.times) - 1
    floor = 0
    for index, run in enumerate(runs):
        lo = run.first
        while lo > floor and series.states[lo] in IN_SESSION:
            lo -= 1
        ceiling = runs[index + 1].first if index + 1 < len(runs) else last_sample
        hi = run.last + 1
        while hi < ceiling and series.states[hi] in IN_SESSION:
            hi += 1
        run.lo, run.hi = lo, hi
        floor = hi
    return runs


# --- 4. times, energy and ids --------------------------------------------------------------------------


def _build_sessions(
    runs: list[_Run],
    series: _Series,
    brand: str,
    system: str,
    cfg: ReconstructConfig,
    warnings: _Warnings,
) -> list[ReconstructedSession]:
    typical = _typical_power(runs, series)
    sessions = [_session(run, series, brand, system, typical, cfg.idle_w) for run in runs]
    if runs and runs[0].lo == 0 and (runs[0].first == 0 or series.states[0] in IN_SESSION):
        warnings.add(
            "started-before-data",
            f"session {sessions[0].transaction_id} may have begun before the first snapshot; "
            "its id and energy cover only what the snapshots show",
        )
    if sessions and sessions[-1].ongoing:
        ongoing_id = sessions[-1].transaction_id
        warnings.add("ongoing", f"session {ongoing_id} is still running at the last snapshot")
    return sessions


def _session(
    run: _Run, series: _Series, brand: str, system: str, typical: float | None, idle_w: float
) -> ReconstructedSession:
    times = series.times
    power = _session_power(run, series, typical, idle_w)
    ongoing = _is_ongoing(run, series)
    start = _estimate_start(run, series, power)
    end = None if ongoing else max(start, _estimate_end(run, series, power))
    return ReconstructedSession(
        transaction_id=transaction_id(brand, system, _utc(times[run.lo])),
        start_utc=_utc(round(start)),
        end_utc=None if end is None else _utc(round(end)),
        energy_wh=math.fsum(series.energy[run.lo : run.hi]),
        start_edge_utc=_utc(times[run.lo]),
        end_edge_utc=_utc(times[run.hi]),
        meter_start_wh=series.raw[run.lo],
        meter_stop_wh=series.raw[run.hi],
        ongoing=ongoing,
    )


def _is_ongoing(run: _Run, series: _Series) -> bool:
    """Still running at the last poll: plugged in by status, or the last interval still charging."""
    last = len(series.times) - 1
    if run.hi != last:
        return False
    state = series.states[last]
    return state in IN_SESSION or (run.last == last - 1 and state is not ChargerState.IDLE)


def _mean_power(series: _Series, k: int) -> float:
    return series.energy[k] * 3600.0 / (series.times[k + 1] - series.times[k])


def _interior_power(run: _Run, series: _Series) -> float | None:
    """Charge power from intervals that lie wholly inside the session (neither first nor last)."""
    inside = [_mean_power(series, k) for k in range(run.first + 1, run.last) if series.active[k]]
    return max(inside) if inside else None


def _typical_power(runs: Sequence[_Run], series: _Series) -> float | None:
    """The wallbox's usual charge power, for sessions too short to show their own."""
    seen = [power for run in runs if (power := _interior_power(run, series)) is not None]
    return statistics.median(seen) if seen else None


def _session_power(run: _Run, series: _Series, typical: float | None, idle_w: float) -> float:
    """Best guess of the charge power, never below what the session's own intervals prove."""
    lower = max(_mean_power(series, k) for k in range(run.first, run.last + 1))
    readings = [p for p in series.powers[run.lo : run.hi + 1] if p is not None and p > idle_w]
    guess = statistics.median(readings) if readings else _interior_power(run, series) or typical
    return max(guess or lower, lower)


def _estimate_start(run: _Run, series: _Series, power: float) -> float:
    """Plug-in when status saw the car waiting, else back from the first poll that saw energy."""
    times, k = series.times, run.lo
    if k < run.first and series.states[k + 1] is ChargerState.PLUGGED:
        return (times[k] + times[k + 1]) / 2  # plugged in somewhere between these two polls
    if k == run.first == run.last:
        return _centred_start(series, k, power)
    return max(times[k], times[k + 1] - series.energy[k] * 3600.0 / power)


def _estimate_end(run: _Run, series: _Series, power: float) -> float:
    """Plug-out when status saw the car still plugged in after charging, else forward at the power."""
    times, k = series.times, run.hi - 1
    if k > run.last and series.states[k] is ChargerState.PLUGGED:
        return (times[k] + times[k + 1]) / 2  # unplugged somewhere between these two polls
    charged_s = series.energy[k] * 3600.0 / power
    if run.lo == k == run.first == run.last:
        return min(times[k + 1], _centred_start(series, k, power) + charged_s)
    return min(times[k + 1], times[k] + charged_s)


def _centred_start(series: _Series, k: int, power: float) -> float:
    """A session seen in one interval only: where in it is unknown, so centre it (halves the worst error)."""
    charged_s = series.energy[k] * 3600.0 / power
    return series.times[k] + max(0.0, (series.times[k + 1] - series.times[k] - charged_s) / 2)


def _utc(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def _iso(stamp: float) -> str:
    return _utc(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")
