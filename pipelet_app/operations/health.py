"""Stored monthly health (docs/health.md): the roll-up job computes every claimed, unretired charger's
month with `domain.availability` and stores it with its site's sum in `health_months`; the API and the
pages read those rows. A charger's uptime (`uptime`: the charger page's months, `GET
/chargers/{id}/uptime`) reads the stored row of a closed month and computes only the running month (or
a closed month not rolled up since it closed) on read, with the roll-up's own function, so the page, the
API and the site reports (the sum of the stored charger rows) give one figure. The fault list of a
charger is detected from its status history when asked (it is one charger's rows).

Robust to CSMS restarts: a connection period a crashed node left open ends at the charger's last sign
of life when it is not online now, and short reconnect gaps count as online (domain.availability).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, delete, select

from pipelet_app.auth import Principal
from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    Charger,
    HealthMonth,
)
from pipelet_app.domain.availability import (
    MonthHealth,
    combine,
    connection_intervals,
    detect_faults,
    month_health,
)
from pipelet_app.ocpp.uptime import Uptime, histories, month_window
from pipelet_app.operations.chargers import own_charger
from pipelet_app.services.sites import own_site


def label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _charger_month(
    charger: Charger, window: tuple[datetime, datetime], connections: list, statuses: list, now: datetime
) -> MonthHealth:
    last_seen = None if charger.is_online else (charger.last_seen_at or window[0])
    online = connection_intervals(connections, now, last_seen)
    return month_health(window, online, statuses, now)


def rollup(db: Session, year: int, month: int, now: datetime | None = None) -> int:
    """Recompute and store one month for every claimed, unretired charger and its site; returns how
    many chargers. Replaces the month's rows in one transaction (idempotent)."""
    now = now or utcnow()
    window = month_window(year, month, now)
    chargers = db.exec(
        select(Charger).where(col(Charger.tenant_id).is_not(None), col(Charger.retired_at).is_(None))
    ).all()
    ids = [c.id for c in chargers if c.id is not None]
    connections, statuses = histories(db, ids, window)
    key = label(year, month)
    db.exec(delete(HealthMonth).where(HealthMonth.month == key))  # type: ignore[call-overload]
    by_site: dict[tuple[int, int], list[MonthHealth]] = defaultdict(list)
    for charger in chargers:
        assert charger.id is not None and charger.tenant_id is not None
        health = _charger_month(charger, window, connections[charger.id], statuses[charger.id], now)
        db.add(_row("charger", charger.id, key, charger.tenant_id, health, now))
        if charger.site_id is not None:
            by_site[(charger.site_id, charger.tenant_id)].append(health)
    for (site_id, tenant_id), months in by_site.items():
        db.add(_row("site", site_id, key, tenant_id, combine(months), now))
    db.commit()
    return len(chargers)


def _row(scope: str, object_id: int, key: str, tenant_id: int, h: MonthHealth, now: datetime) -> HealthMonth:
    return HealthMonth(
        scope=scope,
        object_id=object_id,
        month=key,
        tenant_id=tenant_id,
        online_s=h.online_s,
        degraded_s=h.degraded_s,
        offline_s=h.offline_s,
        fault_s=h.fault_s,
        faults=h.faults,
        availability=h.availability,
        computed_at=now,
    )


def _out(row: HealthMonth | None, key: str) -> dict[str, Any]:
    if row is None:
        return {"month": key, "computed_utc": None}
    return {
        "month": key,
        "online_s": row.online_s,
        "degraded_s": row.degraded_s,
        "offline_s": row.offline_s,
        "fault_s": row.fault_s,
        "faults": row.faults,
        "availability_percent": None if row.availability is None else round(row.availability * 100, 2),
        "computed_utc": row.computed_at,
    }


def charger_health(db: Session, principal: Principal, cp_id: str, year: int, month: int) -> dict[str, Any]:
    """The stored month of one of the caller's chargers (`computed_utc` None: not rolled up yet)."""
    charger = own_charger(db, principal, cp_id)
    key = label(year, month)
    return _out(db.get(HealthMonth, ("charger", charger.id, key)), key)


def site_health(db: Session, principal: Principal, site_id: int, year: int, month: int) -> dict[str, Any]:
    own_site(db, principal, site_id)
    key = label(year, month)
    return _out(db.get(HealthMonth, ("site", site_id, key)), key)


@dataclass(frozen=True, slots=True)
class MonthUptime:
    """One calendar month (UTC) of a charger's uptime; the window ends now for the running month.
    `stored_utc`: when the roll-up stored the row it was read from; None when computed on this read."""

    year: int
    month: int
    start: datetime
    end: datetime
    uptime: Uptime
    stored_utc: datetime | None = None

    @property
    def label(self) -> str:
        return label(self.year, self.month)

    def share(self, seconds: float) -> float | None:
        """`seconds` as a fraction of the window; None for a month that has not begun (empty window)."""
        total = (self.end - self.start).total_seconds()
        return seconds / total if total > 0 else None


def month_of(db: Session, charger: Charger, year: int, month: int, now: datetime) -> MonthUptime:
    """The charger's month: the stored row once the month is closed and the roll-up stored it after its
    end (a row stored while the month ran covers only part of it); otherwise computed now from the
    histories with the roll-up's function (`_charger_month`), the figure the roll-up will store."""
    start, end = window = month_window(year, month, now)
    closed = (year, month) < (now.year, now.month)
    row = db.get(HealthMonth, ("charger", charger.id, label(year, month))) if closed else None
    if row is not None and row.computed_at >= end:
        figures = Uptime(online_s=row.online_s, degraded_s=row.degraded_s, offline_s=row.offline_s)
        return MonthUptime(year, month, start, end, figures, row.computed_at)
    connections, statuses = histories(db, [charger.id], window)  # type: ignore[list-item]
    h = _charger_month(charger, window, connections[charger.id], statuses[charger.id], now)  # type: ignore[index]
    return MonthUptime(year, month, start, end, Uptime(h.online_s, h.degraded_s, h.offline_s))


def uptime(
    db: Session, principal: Principal, cp_id: str, year: int, month: int, now: datetime | None = None
) -> MonthUptime:
    """Online / degraded / offline seconds of one of the caller's chargers in that month (`month_of`)."""
    charger = own_charger(db, principal, cp_id)
    return month_of(db, charger, year, month, now or utcnow())


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def recent_uptime(
    db: Session, principal: Principal, cp_id: str, now: datetime | None = None
) -> list[MonthUptime]:
    """The running month and the one before, the two an operator compares on the detail page."""
    charger = own_charger(db, principal, cp_id)
    now = now or utcnow()
    months = [(now.year, now.month), previous_month(now.year, now.month)]
    return [month_of(db, charger, y, m, now) for y, m in months]


def charger_faults(
    db: Session, principal: Principal, cp_id: str, year: int, month: int, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Faults detected in the charger's status history in that month, with their durations."""
    charger = own_charger(db, principal, cp_id)
    now = now or utcnow()
    window = month_window(year, month, now)
    _, statuses = histories(db, [charger.id], window)  # type: ignore[list-item]
    return [
        {
            "connector_id": f.connector_id,
            "start_utc": f.start,
            "end_utc": None if f.ongoing else f.end,
            "error_code": f.error_code,
            "duration_s": f.duration_s,
            "ongoing": f.ongoing,
        }
        for f in detect_faults(statuses[charger.id], now)  # type: ignore[index]
        if f.end > window[0] and f.start < window[1]
    ]
