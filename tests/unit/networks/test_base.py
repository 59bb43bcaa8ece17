"""The shared row rules and the cursor rule every network adapter uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.networks.base import (
    NetworkSession,
    RowError,
    checked_session,
    row_money,
    row_number,
    row_text,
    row_time,
    session_cursor,
    transaction_id,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _session(start_h: float, end_h: float | None) -> NetworkSession:
    return NetworkSession(
        session_id=f"s{start_h}",
        charger_external_id="c",
        connector="1",
        start_utc=T0 + timedelta(hours=start_h),
        end_utc=None if end_h is None else T0 + timedelta(hours=end_h),
        energy_wh=1.0,
    )


@given(
    st.lists(
        st.tuples(st.integers(0, 1000), st.one_of(st.none(), st.integers(0, 50))), min_size=0, max_size=20
    ),
    st.one_of(st.none(), st.integers(0, 1000)),
)
def test_the_cursor_never_passes_an_open_session_and_never_goes_back_without_one(
    rows: list[tuple[int, int | None]], previous_h: int | None
) -> None:
    sessions = [_session(s, None if d is None else s + d) for s, d in rows]
    previous = None if previous_h is None else T0 + timedelta(hours=previous_h)
    cursor = session_cursor(sessions, previous)
    opened = [s.start_utc for s in sessions if s.end_utc is None]
    if not sessions:
        assert cursor == previous
        return
    assert cursor is not None
    if opened:
        assert cursor <= min(opened), "an open session is read again until it ends"
    else:
        assert cursor >= max(s.start_utc for s in sessions)
        assert previous is None or cursor >= previous


def test_an_open_session_older_than_the_hold_no_longer_holds_the_cursor() -> None:
    now = T0 + timedelta(days=30)
    sessions = [_session(0, None), _session(24 * 29, 24 * 29 + 1)]
    assert session_cursor(sessions, None) == T0
    assert session_cursor(sessions, None, now) == T0 + timedelta(days=29)


def test_row_helpers_name_the_field_never_the_value() -> None:
    row = {"id": "x", "kwh": "12.5", "bad": "secret-ish", "at": "2026-12-01T10:00:00Z", "obj": {}}
    assert row_text(row, "id") == "x" and row_number(row, "kwh") == 12.5
    assert row_time(row, "at") == datetime(2026, 12, 1, 10, tzinfo=UTC)
    for call, field in (
        (lambda: row_text(row, "missing"), "missing"),
        (lambda: row_number(row, "bad"), "bad"),
        (lambda: row_time(row, "bad"), "bad"),
        (lambda: row_text(row, "obj"), "obj"),
        (lambda: row_number({"n": float("inf")}, "n"), "n"),
        (lambda: row_money("NaN", "cost"), "cost"),
    ):
        with pytest.raises(RowError) as caught:
            call()
        assert field in str(caught.value) and "secret-ish" not in str(caught.value)
    assert row_money("6.4567", "cost") == Decimal("6.457") and row_money(None, "cost") is None
    with pytest.raises(RowError, match="ends before it starts"):
        checked_session(_session(5, -1))


def test_transaction_ids_are_deterministic_and_carry_network_and_tenant() -> None:
    assert transaction_id("loop", 7, "ses_1") == "net-loop-t7-ses_1" == transaction_id("loop", 7, "ses_1")
    assert transaction_id("loop", 8, "ses_1") != transaction_id("loop", 7, "ses_1")
