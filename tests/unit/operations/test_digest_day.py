"""The digest's "yesterday" is a local day: 23 or 25 hours long on the days clocks change."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipelet_app.operations.digest import local_day_bounds


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Berlin", date(2026, 3, 29), 23),
        ("Europe/Berlin", date(2026, 10, 25), 25),
        ("Europe/Berlin", date(2026, 10, 26), 24),
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
        ("UTC", date(2026, 12, 31), 24),
    ],
)
def test_a_local_day_has_the_hours_its_clocks_give(zone: str, day: date, hours: int) -> None:
    start, end = local_day_bounds(day, ZoneInfo(zone))
    assert end - start == timedelta(hours=hours)
    assert start.astimezone(ZoneInfo(zone)).hour == 0 and start.astimezone(ZoneInfo(zone)).date() == day
