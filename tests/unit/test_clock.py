"""The application clock and the instants of CI's date pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipelet_app import clock
from tests.awkward_instants import DST_ZONES, awkward_instants, dst_changes


def test_frozen_pins_every_reader_and_restores_the_clock() -> None:
    at = datetime(2027, 3, 28, 3, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    with clock.frozen(at):
        assert clock.utcnow() == at and clock.utcnow().tzinfo is UTC
        assert clock.today().isoformat() == "2027-03-28"
    assert abs(clock.utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


def test_frozen_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        clock.frozen(datetime(2027, 1, 1))


def test_use_takes_any_source_and_nests() -> None:
    ticks = iter([datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC)])
    with clock.use(lambda: next(ticks)):
        assert clock.utcnow().day == 1
        with clock.frozen(datetime(2030, 6, 1, tzinfo=UTC)):
            assert clock.utcnow().year == 2030
        assert clock.utcnow().day == 2


@pytest.mark.parametrize("zone", DST_ZONES)
@pytest.mark.parametrize("year", [2026, 2027])
def test_dst_changes_are_the_zone_database_offset_changes(zone: str, year: int) -> None:
    tz = ZoneInfo(zone)
    spring, autumn = dst_changes(zone, year)
    for change, shift in ((spring, 1), (autumn, -1)):
        before = (change - timedelta(seconds=1)).astimezone(tz).utcoffset()
        assert change.astimezone(tz).utcoffset() - before == timedelta(hours=shift)
        assert change.astimezone(tz).weekday() == 6, "both zones change on a Sunday"


def test_the_known_2027_dates_and_the_local_side_of_each_boundary() -> None:
    instants = awkward_instants(2027)
    assert [i.date().isoformat() for i in instants] == [
        "2026-12-31",  # already 1 January in UTC
        "2027-03-01",  # still 28 February in UTC
        "2027-03-14",  # New York springs forward
        "2027-03-28",  # Berlin springs forward
        "2027-10-31",  # Berlin falls back
        "2027-11-07",  # New York falls back
    ]
    assert instants[0].astimezone(UTC).date().isoformat() == "2027-01-01"
    assert instants[1].astimezone(UTC).date().isoformat() == "2027-02-28"
    autumn_berlin = instants[4]
    assert autumn_berlin.hour == 2 and autumn_berlin.utcoffset() == timedelta(hours=1), "the repeated hour"
