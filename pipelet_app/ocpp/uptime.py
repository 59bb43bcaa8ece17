"""Online / degraded / offline seconds per charger and month, from the CSMS's own histories.

Online = a socket was held (`charger_connection_history`); degraded = online while the charger
(connector 0) or any connector was Faulted / Unavailable or reported an error code
(`connector_status_history`); offline = the rest of the month (up to now for the running month).
The interval arithmetic is pure (`measure`, `intersect`) so it is tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, or_, select

from pipelet_app.clock import utcnow
from pipelet_app.db.models import ChargerConnectionPeriod, ConnectorStatusPeriod

Interval = tuple[datetime, datetime]
DEGRADED_STATUSES = ("Faulted", "Unavailable")


@dataclass(frozen=True, slots=True)
class Uptime:
    online_s: float
    degraded_s: float
    offline_s: float


def union(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    a, b = union(a), union(b)
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def measure(intervals: list[Interval]) -> float:
    return sum((end - start).total_seconds() for start, end in union(intervals))


def month_window(year: int, month: int, now: datetime | None = None) -> Interval:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    now = now or utcnow()
    return start, max(start, min(end, now))


def split(window: Interval, online: list[Interval], faults: list[Interval]) -> Uptime:
    online_in = intersect(online, [window])
    degraded = measure(intersect(online_in, faults))
    total_online = measure(online_in)
    return Uptime(
        online_s=total_online - degraded,
        degraded_s=degraded,
        offline_s=(window[1] - window[0]).total_seconds() - total_online,
    )


def monthly_uptime(
    db: Session, charger_id: int, year: int, month: int, now: datetime | None = None
) -> Uptime:
    now = now or utcnow()
    window = month_window(year, month, now)
    connections = db.exec(
        select(ChargerConnectionPeriod).where(
            ChargerConnectionPeriod.charger_id == charger_id,
            col(ChargerConnectionPeriod.connected_at) < window[1],
            or_(
                col(ChargerConnectionPeriod.disconnected_at).is_(None),
                col(ChargerConnectionPeriod.disconnected_at) > window[0],
            ),
        )
    ).all()
    statuses = db.exec(
        select(ConnectorStatusPeriod).where(
            ConnectorStatusPeriod.charger_id == charger_id,
            col(ConnectorStatusPeriod.started_at) < window[1],
            or_(
                col(ConnectorStatusPeriod.ended_at).is_(None),
                col(ConnectorStatusPeriod.ended_at) > window[0],
            ),
            or_(
                col(ConnectorStatusPeriod.status).in_(DEGRADED_STATUSES),
                ConnectorStatusPeriod.error_code != "NoError",
            ),
        )
    ).all()
    online = [(p.connected_at, p.disconnected_at or now) for p in connections]
    faults = [(p.started_at, p.ended_at or now) for p in statuses]
    return split(window, online, faults)
