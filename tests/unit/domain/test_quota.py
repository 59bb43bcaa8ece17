"""Quota budgets and the next-poll policy: properties that must hold whatever the schedule's inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelet_app.domain.quota import (
    DEFAULT_POLICY,
    LOGIN,
    QUOTAS,
    REALTIME,
    REQUEST,
    BrandQuota,
    Window,
    backoff_s,
    can_spend,
    desired_interval_s,
    next_allowed,
    next_poll_time,
    poll_cost,
    quota_for,
    remaining,
    spend,
    spend_poll,
)

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # noon UTC: daytime in Europe/Berlin


def assert_within_windows(ledger: dict[str, list[float]], quota: BrandQuota) -> None:
    for window in quota.windows:
        spends = sorted(ledger.get(window.kind, []))
        for i, s in enumerate(spends):
            in_window = sum(1 for x in spends[: i + 1] if x > s - window.period_s)
            assert in_window <= window.limit, f"{quota.brand}: {window} overdrawn"


steps = st.lists(
    st.tuples(
        st.booleans(),  # session running
        st.sampled_from([0, 0, 0, 1, 2, 5]),  # consecutive failures
        st.sampled_from([None, None, 30.0, 3600.0]),  # retry-after from a throttle answer
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(brand=st.sampled_from(sorted(QUOTAS)), plan=steps, wallboxes=st.integers(1, 3))
def test_following_the_schedule_never_overdraws_any_window(
    brand: str, plan: list[tuple[bool, int, float | None]], wallboxes: int
) -> None:
    quota = quota_for(brand)
    ledger: dict[str, list[float]] = {}
    now = T0
    kept: dict[str, list[float]] = {}
    for session, failures, retry_after in plan:
        when = next_poll_time(
            now,
            quota=quota,
            ledger=ledger,
            session_active=session,
            tz_name="Europe/Berlin",
            failures=failures,
            retry_after_s=retry_after,
            wallboxes=wallboxes,
        )
        assert when > now
        if retry_after:
            assert when >= now + timedelta(seconds=retry_after)
        assert can_spend(ledger, quota, when, REQUEST, poll_cost(quota, wallboxes)[REQUEST])
        ledger = spend_poll(ledger, quota, when, wallboxes)
        for kind, n in poll_cost(quota, wallboxes).items():
            kept.setdefault(kind, []).extend([when.timestamp()] * n)
        now = when
    assert_within_windows(kept, quota)


@settings(max_examples=80, deadline=None)
@given(
    spends=st.lists(st.integers(0, 3_000), max_size=30),
    limit=st.integers(1, 10),
    period=st.integers(10, 1_000),
    offset=st.integers(0, 3_000),
)
def test_next_allowed_is_the_first_moment_that_fits(
    spends: list[int], limit: int, period: int, offset: int
) -> None:
    quota = BrandQuota("x", (Window(limit, period),))
    base = T0.timestamp()
    now = T0 + timedelta(seconds=offset)
    ledger = {REQUEST: [base + s for s in spends if base + s <= now.timestamp()]}
    when = next_allowed(ledger, quota, now, {REQUEST: 1})
    assert when >= now
    assert can_spend(ledger, quota, when)
    if when > now:
        assert not can_spend(ledger, quota, when - timedelta(seconds=0.001))


@given(failures=st.integers(0, 40))
def test_backoff_grows_and_is_capped(failures: int) -> None:
    this, following = backoff_s(failures), backoff_s(failures + 1)
    assert this <= DEFAULT_POLICY.backoff_max_s
    if failures == 0:
        assert this == 0
    else:
        assert this >= min(DEFAULT_POLICY.backoff_max_s, DEFAULT_POLICY.backoff_base_s * 2 ** (failures - 1))
        assert following >= this * 0.9  # monotone up to the jitter


def test_backoff_jitter_spreads_accounts() -> None:
    values = {backoff_s(3, jitter_key=f"account-{i}") for i in range(20)}
    assert len(values) > 5
    assert all(1200 <= v <= 1320 for v in values)


def test_intervals_denser_in_session_sparser_at_night() -> None:
    night = datetime(2026, 6, 1, 0, 30, tzinfo=UTC)  # 02:30 in Berlin
    assert desired_interval_s(T0, session_active=False, tz_name="Europe/Berlin") == 1_800
    assert desired_interval_s(T0, session_active=True, tz_name="Europe/Berlin") == 300
    assert desired_interval_s(night, session_active=False, tz_name="Europe/Berlin") == 7_200
    assert desired_interval_s(night, session_active=True, tz_name="Europe/Berlin") == 300
    # 21:30 UTC is 23:30 in Berlin but daytime in New York
    late = datetime(2026, 6, 1, 21, 30, tzinfo=UTC)
    assert desired_interval_s(late, session_active=False, tz_name="Europe/Berlin") == 7_200
    assert desired_interval_s(late, session_active=False, tz_name="America/New_York") == 1_800


def test_solaredge_default_schedule_keeps_default_interval() -> None:
    quota = quota_for("solaredge")
    assert next_poll_time(T0, quota=quota, ledger={}) == T0 + timedelta(minutes=30)
    assert next_poll_time(T0, quota=quota, ledger={}, session_active=True) == T0 + timedelta(minutes=5)


def test_enphase_free_plan_idle_is_paced_to_the_monthly_budget() -> None:
    quota = quota_for("enphase")
    when = next_poll_time(T0, quota=quota, ledger={})
    # 1,000 calls in 31 days: one call per 44.6 minutes, not the 30-minute default
    assert (when - T0).total_seconds() == pytest.approx(31 * 86_400 / 1000)


def test_enphase_month_of_polling_stays_under_1000_and_uses_most_of_it() -> None:
    quota = quota_for("enphase")
    ledger: dict[str, list[float]] = {}
    now, polls = T0, 0
    end = T0 + timedelta(days=31)
    while True:
        hour = now.hour
        now = next_poll_time(now, quota=quota, ledger=ledger, session_active=17 <= hour < 20, tz_name="UTC")
        if now >= end:
            break
        ledger = spend_poll(ledger, quota, now)
        polls += 1
    assert 700 <= polls <= 1000


def test_session_spends_spare_budget_but_not_the_reserve() -> None:
    quota = quota_for("enphase")
    fresh = next_poll_time(T0, quota=quota, ledger={}, session_active=True)
    assert (fresh - T0).total_seconds() == 300
    heavy = {REQUEST: [T0.timestamp() - 3600 - i for i in range(850)]}  # 85 % of the month used
    paced = next_poll_time(T0, quota=quota, ledger=heavy, session_active=True)
    assert (paced - T0).total_seconds() == pytest.approx(31 * 86_400 / 1000)


def test_huawei_logins_five_per_ten_minutes() -> None:
    quota = quota_for("huawei")
    ledger: dict[str, list[float]] = {}
    for i in range(5):
        assert can_spend(ledger, quota, T0 + timedelta(seconds=i), LOGIN)
        ledger = spend(ledger, quota, T0 + timedelta(seconds=i), LOGIN)
    assert not can_spend(ledger, quota, T0 + timedelta(seconds=10), LOGIN)
    assert next_allowed(ledger, quota, T0 + timedelta(seconds=10), {LOGIN: 1}) == T0 + timedelta(seconds=600)


def test_huawei_realtime_reads_at_most_every_five_minutes_even_in_session() -> None:
    quota = quota_for("huawei")
    ledger = spend_poll({}, quota, T0)
    when = next_poll_time(T0, quota=quota, ledger=ledger, session_active=True, wallboxes=2)
    assert (when - T0).total_seconds() >= 300
    assert poll_cost(quota, 2) == {REQUEST: 2, REALTIME: 1}


def test_throttle_pushes_past_retry_after_and_backoff() -> None:
    quota = quota_for("solaredge")
    when = next_poll_time(T0, quota=quota, ledger={}, failures=4, retry_after_s=60)
    assert (when - T0).total_seconds() >= max(1_800, 300 * 8)


def test_paid_tier_override_and_unknown_brand() -> None:
    paid = BrandQuota("enphase", (Window(100, 60), Window(100_000, 31 * 86_400)))
    assert quota_for("enphase", paid) is paid
    assert next_poll_time(T0, quota=paid, ledger={}) == T0 + timedelta(minutes=30)
    assert quota_for("newbrand").brand == "newbrand"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        can_spend({}, quota_for("enphase"), datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        Window(0, 60)


def test_quota_module_stays_pure() -> None:
    import ast
    from pathlib import Path

    import pipelet_app.domain.quota as module

    tree = ast.parse(Path(module.__file__).read_text())
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    forbidden = (
        "httpx",
        "sqlmodel",
        "sqlalchemy",
        "reflex",
        "websockets",
        "pipelet_app.db",
        "pipelet_app.inverters",
    )
    assert not [name for name in imported if name.startswith(forbidden)]


@settings(max_examples=60, deadline=None)
@given(brand=st.sampled_from(sorted(QUOTAS)), spends=st.integers(0, 400))
def test_remaining_is_zero_exactly_when_the_tightest_window_is_spent(brand: str, spends: int) -> None:
    quota = quota_for(brand)
    ledger: dict[str, list[float]] = {}
    now = T0
    for _ in range(spends):
        if not can_spend(ledger, quota, now):
            break
        ledger = spend(ledger, quota, now)
        now += timedelta(seconds=1)
    left = remaining(ledger, quota, now)
    assert left >= 0
    if all(w.kind == REQUEST for w in quota.windows):
        assert (left > 0) == can_spend(ledger, quota, now)
    else:
        assert left <= min(w.limit for w in quota.windows)
    assert remaining({}, quota, now) == min(w.limit for w in quota.windows)
