"""`domain.availability` on synthetic status histories: overlapping faults, CSMS restarts, DST days,
and the invariants any history keeps (the three states fill the window, availability in [0, 1],
order and duplicates of the input change nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelet_app.domain.availability import (
    StatusPeriod,
    combine,
    connection_intervals,
    detect_faults,
    month_health,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
MARCH = (T0, datetime(2026, 4, 1, tzinfo=UTC))
H = timedelta(hours=1)


def test_overlapping_faults_on_one_connector_are_one_fault_with_its_duration() -> None:
    periods = [
        StatusPeriod(1, "Faulted", "GroundFailure", T0 + H, T0 + 3 * H),
        StatusPeriod(1, "Available", "OverCurrentFailure", T0 + 2 * H, T0 + 4 * H),  # error code = a fault
        StatusPeriod(2, "Faulted", "NoError", T0 + 2 * H, None),  # another connector, still open
        StatusPeriod(1, "Unavailable", "NoError", T0 + 5 * H, T0 + 6 * H),  # operator's choice: no fault
    ]
    faults = detect_faults(periods, now=T0 + 10 * H)
    assert [(f.connector_id, f.duration_s / 3600, f.ongoing) for f in faults] == [
        (1, 3.0, False),
        (2, 8.0, True),
    ]
    assert faults[0].error_code == "GroundFailure"


def test_a_csms_restart_is_not_an_outage_but_a_long_gap_is() -> None:
    restart = [(T0, T0 + 10 * H), (T0 + 10 * H + timedelta(seconds=40), MARCH[1])]
    outage = [(T0, T0 + 10 * H), (T0 + 12 * H, MARCH[1])]
    now = MARCH[1]
    assert month_health(MARCH, restart, [], now).offline_s == 0
    assert month_health(MARCH, outage, [], now).offline_s == 2 * 3600
    assert month_health(MARCH, restart, [], now, grace_s=0).offline_s == 40


def test_open_connection_of_a_crashed_node_ends_at_last_seen() -> None:
    now = T0 + 10 * H
    online = connection_intervals([(T0, None)], now, last_seen=T0 + 4 * H)
    assert online == [(T0, T0 + 4 * H)]
    health = month_health((T0, now), online, [], now)
    assert (health.online_s, health.offline_s) == (4 * 3600, 6 * 3600)


def test_availability_excludes_fault_periods() -> None:
    now = T0 + 10 * H
    statuses = [StatusPeriod(0, "Faulted", "InternalError", T0 + 2 * H, T0 + 4 * H)]
    health = month_health((T0, now), [(T0, T0 + 8 * H)], statuses, now)
    assert (health.online_s, health.degraded_s, health.offline_s) == (6 * 3600, 2 * 3600, 2 * 3600)
    assert health.fault_s == 2 * 3600 and health.faults == 1
    assert health.availability == 6 / 8  # 2 h of fault left out of the 10 h window


def test_dst_day_is_measured_in_real_seconds() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    day = (
        datetime(2026, 3, 29, tzinfo=berlin).astimezone(UTC),
        datetime(2026, 3, 30, tzinfo=berlin).astimezone(UTC),
    )  # 23 hours
    health = month_health(day, [day], [], now=day[1])
    assert health.online_s == 23 * 3600 and health.availability == 1.0


def test_site_combines_its_chargers() -> None:
    now = T0 + 10 * H
    a = month_health((T0, now), [(T0, now)], [], now)
    b = month_health((T0, now), [], [], now)
    site = combine([a, b])
    assert site.online_s == 10 * 3600 and site.offline_s == 10 * 3600 and site.availability == 0.5


hours = st.integers(min_value=0, max_value=24 * 31)
spans = st.tuples(hours, st.integers(min_value=0, max_value=48)).map(
    lambda t: (T0 + t[0] * H, T0 + (t[0] + t[1]) * H)
)
status_rows = st.builds(
    lambda c, s, e, span, open_: StatusPeriod(c, s, e, span[0], None if open_ else span[1]),
    st.integers(0, 2),
    st.sampled_from(["Available", "Charging", "Faulted", "Unavailable"]),
    st.sampled_from(["NoError", "GroundFailure"]),
    spans,
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(spans, max_size=8), st.lists(status_rows, max_size=8), hours)
def test_states_fill_the_window_and_input_order_does_not_matter(online, statuses, now_h) -> None:
    now = min(T0 + now_h * H, MARCH[1])
    window = (T0, max(T0, now))
    health = month_health(window, online, statuses, now)
    total = (window[1] - window[0]).total_seconds()
    assert abs(health.online_s + health.degraded_s + health.offline_s - total) < 1e-6
    assert min(health.online_s, health.degraded_s, health.offline_s, health.fault_s) >= 0
    assert health.availability is None or 0 <= health.availability <= 1
    again = month_health(window, list(reversed(online)) + online, list(reversed(statuses)), now)
    assert again == health
    assert month_health(window, online, statuses, now, grace_s=3600).offline_s <= health.offline_s
    for fault in detect_faults(statuses, now):
        assert fault.duration_s > 0
