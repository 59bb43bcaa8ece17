"""Live energy counters turned into production intervals (Huawei total_cap, Sungrow's day yield)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pipelet_app.inverters.production import MAX_SPAN, counter_intervals

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def test_the_rise_between_two_readings_is_one_interval_and_the_state_is_json() -> None:
    state: dict = {}
    assert counter_intervals(state, "pv", T0, 1_000_000.0) == []  # the baseline
    (interval,) = counter_intervals(state, "pv", T0 + timedelta(minutes=30), 1_001_500.0)
    assert (interval.start_utc, interval.end_utc, interval.power_w) == (
        T0,
        T0 + timedelta(minutes=30),
        3000.0,
    )
    assert json.loads(json.dumps(state)) == state  # the poll job stores it as JSON


def test_a_repeated_reading_changes_nothing_and_a_drop_or_a_long_gap_rebases() -> None:
    state: dict = {}
    counter_intervals(state, "pv", T0, 500.0)
    assert counter_intervals(state, "pv", T0, 900.0) == []  # not newer: ignored, baseline kept
    assert state["pv"]["wh"] == 500.0
    assert counter_intervals(state, "pv", T0 + timedelta(minutes=5), 100.0) == []  # replaced inverter
    assert counter_intervals(state, "pv", T0 + MAX_SPAN + timedelta(hours=1), 5000.0) == []  # too long
    assert len(counter_intervals(state, "pv", T0 + MAX_SPAN + timedelta(hours=2), 6000.0)) == 1


def test_a_daily_yield_restarts_at_midnight() -> None:
    state: dict = {}
    day1, day2 = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC)
    counter_intervals(state, "pv", day2 - timedelta(minutes=20), 30_000.0, period_start=day1)
    (interval,) = counter_intervals(state, "pv", day2 + timedelta(minutes=10), 100.0, period_start=day2)
    assert (interval.start_utc, interval.power_w) == (day2, 600.0)  # 100 Wh since midnight, in 10 minutes
