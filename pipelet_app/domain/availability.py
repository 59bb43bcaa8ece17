"""A charger's health over a month from its connection and connector-status histories: faults detected
from the statuses (with their durations), online / degraded / offline seconds, and availability.

Rules (docs/health.md):
- A **fault** is a connector period whose status is Faulted or whose error code is not NoError.
  Consecutive or overlapping fault periods of one connector are one fault; a fault still open at `now`
  lasts until `now` and is `ongoing`.
- **Online** = a socket was held. A gap between two connections of at most `grace_s` (default 120 s)
  counts as online: a CSMS restart (every charger reconnects within seconds) or a node hand-over is
  not an outage. A connection the histories left open (a node crashed) ends at `last_seen` when given.
- **Degraded** = online while the charger or a connector was Faulted, Unavailable or reported an error.
- **Offline** = the rest of the window.
- **Availability** = online (not degraded) seconds / (window seconds - fault seconds): fault periods are
  excluded from the denominator (a fault is reported and measured separately); None when nothing is left.

Pure: no I/O, so the arithmetic is property-tested (tests/unit/domain/test_availability.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

Interval = tuple[datetime, datetime]
DEGRADED_STATUSES = frozenset({"Faulted", "Unavailable"})
NO_ERROR = frozenset({"", "NoError"})
RESTART_GRACE_S = 120.0


@dataclass(frozen=True, slots=True)
class StatusPeriod:
    connector_id: int
    status: str
    error_code: str
    start: datetime
    end: datetime | None  # None = still the current status


@dataclass(frozen=True, slots=True)
class Fault:
    connector_id: int
    start: datetime
    end: datetime
    error_code: str
    ongoing: bool

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class MonthHealth:
    online_s: float
    degraded_s: float
    offline_s: float
    fault_s: float
    faults: int
    availability: float | None


def union(intervals: Iterable[Interval], grace_s: float = 0.0) -> list[Interval]:
    """Sorted, merged intervals; gaps of at most `grace_s` are closed."""
    grace = timedelta(seconds=grace_s)
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1] + grace:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    left, right = union(a), union(b)
    i = j = 0
    while i < len(left) and j < len(right):
        start, end = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if start < end:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def measure(intervals: Iterable[Interval]) -> float:
    return sum((end - start).total_seconds() for start, end in union(intervals))


def is_fault(period: StatusPeriod) -> bool:
    return period.status == "Faulted" or period.error_code not in NO_ERROR


def is_degraded(period: StatusPeriod) -> bool:
    return period.status in DEGRADED_STATUSES or period.error_code not in NO_ERROR


def detect_faults(periods: Iterable[StatusPeriod], now: datetime) -> list[Fault]:
    """One Fault per run of fault periods of a connector, in time order."""
    by_connector: dict[int, list[StatusPeriod]] = {}
    for p in periods:
        if is_fault(p):
            by_connector.setdefault(p.connector_id, []).append(p)
    faults: list[Fault] = []
    for connector_id, rows in by_connector.items():
        current: list = []  # [start, end, error_code, ongoing]
        for p in sorted(rows, key=lambda r: r.start):
            end = p.end or now
            if end <= p.start:
                continue
            code = p.error_code if p.error_code not in NO_ERROR else p.status
            if current and p.start <= current[1]:
                current[1] = max(current[1], end)
                current[3] = current[3] or p.end is None
            else:
                if current:
                    faults.append(Fault(connector_id, current[0], current[1], current[2], current[3]))
                current = [p.start, end, code, p.end is None]
        if current:
            faults.append(Fault(connector_id, current[0], current[1], current[2], current[3]))
    return sorted(faults, key=lambda f: (f.start, f.connector_id))


def connection_intervals(
    connections: Iterable[tuple[datetime, datetime | None]], now: datetime, last_seen: datetime | None = None
) -> list[Interval]:
    """Closed intervals: an open connection ends now, or at `last_seen` when the charger is known to
    be gone (its node crashed and left the period open)."""
    end_of_open = last_seen if last_seen is not None else now
    return [(start, end if end is not None else max(start, end_of_open)) for start, end in connections]


def month_health(
    window: Interval,
    online: Iterable[Interval],
    statuses: Iterable[StatusPeriod],
    now: datetime,
    grace_s: float = RESTART_GRACE_S,
) -> MonthHealth:
    """Health of one charger in `window` (a UTC month, or up to now for the running month)."""
    total = (window[1] - window[0]).total_seconds()
    online_in = intersect(union(online, grace_s), [window])
    statuses = list(statuses)
    degraded_iv = [(p.start, p.end or now) for p in statuses if is_degraded(p)]
    faults = [f for f in detect_faults(statuses, now) if f.end > window[0] and f.start < window[1]]
    fault_s = measure(intersect([(f.start, f.end) for f in faults], [window]))
    total_online = measure(online_in)
    degraded = measure(intersect(online_in, degraded_iv))
    denominator = total - fault_s
    up = total_online - degraded
    return MonthHealth(
        online_s=up,
        degraded_s=degraded,
        offline_s=total - total_online,
        fault_s=fault_s,
        faults=len(faults),
        availability=min(1.0, up / denominator) if denominator > 0 else None,
    )


def combine(months: Iterable[MonthHealth]) -> MonthHealth:
    """A site's month from its chargers' (sums; availability from the sums)."""
    rows = list(months)
    online = sum(m.online_s for m in rows)
    degraded = sum(m.degraded_s for m in rows)
    offline = sum(m.offline_s for m in rows)
    fault_s = sum(m.fault_s for m in rows)
    denominator = online + degraded + offline - fault_s
    return MonthHealth(
        online_s=online,
        degraded_s=degraded,
        offline_s=offline,
        fault_s=fault_s,
        faults=sum(m.faults for m in rows),
        availability=min(1.0, online / denominator) if denominator > 0 else None,
    )
