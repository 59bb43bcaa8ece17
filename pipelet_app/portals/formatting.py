"""Turning rows into the plain values a page shows."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def kwh(wh: float | None) -> str:
    return f"{(wh or 0) / 1000:,.1f}"


def when(moment: datetime | None, tz: str = "UTC") -> str:
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f} %"
