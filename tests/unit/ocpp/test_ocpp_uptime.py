"""Monthly online / degraded / offline seconds: `ocpp.uptime`'s month window and
`domain.availability.month_health` (the stored health's arithmetic) without reconnect grace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.availability import StatusPeriod, intersect, measure, month_health, union
from pipelet_app.ocpp.uptime import month_window

D = datetime(2026, 2, 1, tzinfo=UTC)
H = timedelta(hours=1)


def test_interval_helpers() -> None:
    assert union([(D, D + H), (D + H / 2, D + 2 * H), (D + 3 * H, D + 4 * H)]) == [
        (D, D + 2 * H),
        (D + 3 * H, D + 4 * H),
    ]
    assert intersect([(D, D + 2 * H)], [(D + H, D + 3 * H)]) == [(D + H, D + 2 * H)]
    assert measure([(D, D + H), (D, D + H)]) == 3600


def test_month_window_stops_at_now() -> None:
    assert month_window(2026, 12, now=datetime(2030, 1, 1, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert month_window(2026, 2, now=D + H)[1] == D + H


@given(
    st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1000)), max_size=6),
    st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1000)), max_size=6),
)
def test_the_month_is_partitioned(online_raw, fault_raw) -> None:
    window = (D, D + timedelta(seconds=1000))
    as_intervals = [
        (D + timedelta(seconds=min(a, b)), D + timedelta(seconds=max(a, b))) for a, b in online_raw
    ]
    statuses = [
        StatusPeriod(
            1, "Faulted", "GroundFailure", D + timedelta(seconds=min(a, b)), D + timedelta(seconds=max(a, b))
        )
        for a, b in fault_raw
    ]
    result = month_health(window, as_intervals, statuses, window[1], grace_s=0.0)
    assert min(result.online_s, result.degraded_s, result.offline_s) >= 0
    assert result.online_s + result.degraded_s + result.offline_s == 1000


STATUSES = st.sampled_from(["Available", "Charging", "Faulted", "Unavailable", "SuspendedEV"])
ERRORS = st.sampled_from(["NoError", "GroundFailure", "OverCurrentFailure"])


@given(
    st.lists(st.tuples(st.integers(-200, 1200), st.integers(0, 400)), max_size=6),
    st.lists(
        st.tuples(st.integers(-200, 1200), st.integers(0, 400), STATUSES, ERRORS, st.booleans()), max_size=8
    ),
)
def test_without_grace_the_month_is_the_documented_rule(online_raw, status_raw) -> None:
    """`month_health` with no reconnect grace equals the rule `/uptime` documented (degraded = online and
    Faulted / Unavailable / an error code; offline = the rest), written out here independently."""
    window = (D, D + timedelta(seconds=1000))
    now = window[1]
    online = [(D + timedelta(seconds=s), D + timedelta(seconds=s + n)) for s, n in online_raw]
    statuses = [
        StatusPeriod(
            1, status, error, D + timedelta(seconds=s), None if still else D + timedelta(seconds=s + n)
        )
        for s, n, status, error, still in status_raw
    ]
    result = month_health(window, online, statuses, now, grace_s=0.0)
    online_in = intersect(online, [window])
    bad = [
        (p.start, p.end or now)
        for p in statuses
        if p.status in ("Faulted", "Unavailable") or p.error_code != "NoError"
    ]
    degraded = measure(intersect(online_in, bad))
    assert result.degraded_s == degraded
    assert result.online_s == measure(online_in) - degraded
    assert result.offline_s == 1000 - measure(online_in)
