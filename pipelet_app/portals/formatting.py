"""Turning rows into the plain values a page shows."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def kwh(wh: float | None) -> str:
    return f"{(wh or 0) / 1000:,.1f}"


def when(moment: datetime | None, tz: str = "UTC") -> str:
    """Minutes in zone `tz`; a zone name nobody knows (an inverter cloud's, say) falls back to UTC."""
    if moment is None:
        return "—"
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f} %"
