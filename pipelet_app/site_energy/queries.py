"""Reads of a site's energy data, for the API, the pages and the surplus loop (no role checks here:
callers are the sites service, which checks them, and workers, which act for the platform)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from pipelet_app.db.models import SiteEnergyMinute, SiteEvTransaction

SERIES = ("pv_w", "grid_w", "battery_w", "battery_soc", "load_w", "ev_w")


def minutes(db: Session, site_id: int, start: datetime, end: datetime) -> list[SiteEnergyMinute]:
    """The site's minute rows in [start, end), oldest first: one index range on (site_id, minute)."""
    return list(
        db.exec(
            select(SiteEnergyMinute)
            .where(
                SiteEnergyMinute.site_id == site_id,
                SiteEnergyMinute.minute >= start,
                SiteEnergyMinute.minute < end,
            )
            .order_by(col(SiteEnergyMinute.minute))
        ).all()
    )


def latest(db: Session, site_id: int) -> SiteEnergyMinute | None:
    """The site's newest minute (the surplus loop's view of now; stale when older than ~2 minutes)."""
    return db.exec(
        select(SiteEnergyMinute)
        .where(SiteEnergyMinute.site_id == site_id)
        .order_by(col(SiteEnergyMinute.minute).desc())
        .limit(1)
    ).first()


def open_transactions(db: Session, site_id: int) -> list[SiteEvTransaction]:
    """MQTT chargers' transactions not yet Ended, with departure and energy (defaults filled in)."""
    return list(
        db.exec(
            select(SiteEvTransaction).where(
                SiteEvTransaction.site_id == site_id, SiteEvTransaction.state != "Ended"
            )
        ).all()
    )


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def series(rows: list[SiteEnergyMinute], start: datetime, end: datetime, step: timedelta) -> dict[str, Any]:
    """Bucket minute rows by `step` (mean power of the minutes with data) and total the energies (Wh)."""
    buckets: dict[int, list[SiteEnergyMinute]] = {}
    width = step.total_seconds()
    for row in rows:
        buckets.setdefault(int((row.minute - start).total_seconds() // width), []).append(row)
    out = []
    for index in sorted(buckets):
        group = buckets[index]
        point: dict[str, Any] = {"time_utc": start + step * index}
        for name in SERIES:
            value = _mean([v for r in group if (v := getattr(r, name)) is not None])
            point[name] = None if value is None else round(value, 3)
        out.append(point)

    def total(values: list[float]) -> float:
        return round(math.fsum(values) / 60.0, 3)

    return {
        "series": out,
        "totals": {
            "pv_wh": total([r.pv_w for r in rows if r.pv_w is not None]),
            "grid_import_wh": total([r.grid_w for r in rows if r.grid_w is not None and r.grid_w > 0]),
            "grid_export_wh": total([-r.grid_w for r in rows if r.grid_w is not None and r.grid_w < 0]),
            "ev_wh": total([r.ev_w for r in rows if r.ev_w is not None]),
            "ev_solar_wh": total([r.ev_solar_w for r in rows if r.ev_solar_w is not None]),
        },
    }
