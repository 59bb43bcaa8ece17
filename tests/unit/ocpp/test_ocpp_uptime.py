"""Monthly online / degraded / offline seconds from connection and status histories: `ocpp.uptime` loads
them and `domain.availability.month_health` (the stored health's function) does the arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargerConnectionPeriod, ConnectorStatusPeriod
from pipelet_app.domain.availability import StatusPeriod, intersect, measure, month_health, union
from pipelet_app.ocpp.uptime import Uptime, month_window, monthly_uptime, split

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
def test_split_partitions_the_window(online_raw, fault_raw) -> None:
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
    result = split(window, as_intervals, statuses, window[1])
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
def test_on_read_uptime_is_the_stored_healths_arithmetic_without_grace(online_raw, status_raw) -> None:
    """One computation: the on-read figure equals `month_health` with no reconnect grace, and equals the
    rule `/uptime` documented before the two were merged (degraded = online and Faulted / Unavailable /
    an error code; offline = the rest), written out here independently."""
    window = (D, D + timedelta(seconds=1000))
    now = window[1]
    online = [(D + timedelta(seconds=s), D + timedelta(seconds=s + n)) for s, n in online_raw]
    statuses = [
        StatusPeriod(
            1, status, error, D + timedelta(seconds=s), None if still else D + timedelta(seconds=s + n)
        )
        for s, n, status, error, still in status_raw
    ]
    result = split(window, online, statuses, now)
    health = month_health(window, online, statuses, now, grace_s=0.0)
    assert (result.online_s, result.degraded_s, result.offline_s) == (
        health.online_s,
        health.degraded_s,
        health.offline_s,
    )
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


def test_monthly_uptime_from_histories(db: str) -> None:
    with session_scope() as s:
        charger = Charger(charge_point_id="CP-UP")
        s.add(charger)
        s.flush()
        s.add_all(
            [
                # Connected from the previous month until Feb 10, then again Feb 20 onwards (still open).
                ChargerConnectionPeriod(
                    charger_id=charger.id, connected_at=D - 24 * H, disconnected_at=D + 9 * 24 * H
                ),
                ChargerConnectionPeriod(charger_id=charger.id, connected_at=D + 19 * 24 * H),
                # Connector 1 faulted for 5 hours while online, and for a while when offline (does not count).
                ConnectorStatusPeriod(
                    charger_id=charger.id,
                    connector_id=1,
                    status="Faulted",
                    error_code="GroundFailure",
                    started_at=D + 2 * H,
                    ended_at=D + 7 * H,
                ),
                ConnectorStatusPeriod(
                    charger_id=charger.id,
                    connector_id=1,
                    status="Unavailable",
                    started_at=D + 12 * 24 * H,
                    ended_at=D + 13 * 24 * H,
                ),
                ConnectorStatusPeriod(
                    charger_id=charger.id,
                    connector_id=1,
                    status="Charging",
                    started_at=D + 20 * 24 * H,
                    ended_at=D + 21 * 24 * H,
                ),
            ]
        )
        s.flush()
        result = monthly_uptime(s, charger.id, 2026, 2, now=datetime(2026, 3, 5, tzinfo=UTC))
    month = 28 * 24 * 3600
    online_total = (9 + 9) * 24 * 3600
    assert result == Uptime(
        online_s=online_total - 5 * 3600, degraded_s=5 * 3600, offline_s=month - online_total
    )
