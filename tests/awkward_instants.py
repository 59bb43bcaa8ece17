"""The instants CI's date pass freezes the clock at (scripts/test.sh runs `python tests/awkward_instants.py`).

Each is printed as ISO 8601 with the local offset, the form `PIPELET_TEST_NOW` takes (tests/conftest.py).
The DST days are computed from the zone database, not written down: the spring change lands the clock
just after the skipped hour, the autumn one inside the repeated hour (its second pass). The other two put
the UTC date and the local date on different sides of a boundary, once each way:
- the 1st of a month at 00:30 in Berlin is still the previous (short) month's last day in UTC;
- the last day of the year at 23:30 in New York is already New Year's Day in UTC.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

DST_ZONES = ("Europe/Berlin", "America/New_York")


def dst_changes(zone: str, year: int) -> list[datetime]:
    """The UTC instants in `year` at which `zone`'s offset changes (found by scanning hour by hour)."""
    tz = ZoneInfo(zone)
    changes = []
    at = datetime(year, 1, 1, tzinfo=UTC)
    while at.year == year:
        after = at + timedelta(hours=1)
        if at.astimezone(tz).utcoffset() != after.astimezone(tz).utcoffset():
            changes.append(after)  # zones change on the hour, so the later probe is the change itself
        at = after
    return changes


def awkward_instants(year: int) -> list[datetime]:
    """Aware datetimes in their local zones, in time order."""
    berlin, new_york = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
    instants = [
        datetime(year, 3, 1, 0, 30, tzinfo=berlin),
        datetime(year - 1, 12, 31, 23, 30, tzinfo=new_york),
    ]
    for zone in DST_ZONES:
        for change in dst_changes(zone, year):
            instants.append((change + timedelta(minutes=30)).astimezone(ZoneInfo(zone)))
    return sorted(instants)


if __name__ == "__main__":
    for instant in awkward_instants(int(sys.argv[1]) if len(sys.argv) > 1 else 2027):
        print(instant.isoformat())
