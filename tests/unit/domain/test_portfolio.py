"""Portfolio report rules: every figure equals the sum of the sessions its drill-down lists, nothing is
lost or counted twice, currencies never mix, and local days are 23 / 25 hours on DST change days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelet_app.domain import portfolio as rules
from pipelet_app.domain.availability import MonthHealth

SITES = {
    1: rules.SiteInfo(1, "Berlin Depot", "Europe/Berlin", 10),
    2: rules.SiteInfo(2, "Brooklyn Yard", "America/New_York", 10),
    3: rules.SiteInfo(3, "Auckland Wharf", "Pacific/Auckland", None),
    4: rules.SiteInfo(4, "Kathmandu", "Asia/Kathmandu", 11),
}
START, END = date(2026, 2, 20), date(2026, 4, 10)  # spans the US (Mar 8) and EU (Mar 29) changes
LO, HI = rules.utc_bounds(START, END)

instants = st.integers(0, int((HI - LO).total_seconds())).map(lambda s: LO + timedelta(seconds=s))
facts = st.lists(
    st.builds(
        lambda i, site, end, energy, cost, cur: rules.SessionFact(
            i, f"T{i}", site, f"CP-{site}", end - timedelta(hours=1), end, energy, cost, cur
        ),
        st.integers(1, 10**6),
        st.sampled_from(sorted(SITES)),
        instants,
        st.floats(0, 120_000, allow_nan=False),
        st.none() | st.decimals(min_value=0, max_value=300, places=3),
        st.sampled_from(["EUR", "USD"]),
    ),
    max_size=60,
    unique_by=lambda f: f.session_id,
)


def _sum(items: list[rules.SessionFact]) -> tuple[int, int, dict[str, Decimal]]:
    revenue: dict[str, Decimal] = {}
    for f in items:
        if f.cost is not None:
            revenue[f.currency] = revenue.get(f.currency, Decimal(0)) + f.cost
    return len(items), sum(round(f.energy_wh) for f in items), revenue


@settings(max_examples=150, deadline=None)
@given(
    sessions=facts,
    step=st.sampled_from(rules.STEPS),
    portfolio=st.sampled_from([rules.ALL, rules.NO_SPV, "spv:10", "spv:11"]),
)
def test_every_figure_is_the_sum_of_its_sessions(sessions, step, portfolio) -> None:
    chosen = {i: s for i, s in SITES.items() if rules.in_portfolio(s, portfolio)}
    report = rules.aggregate(rules.buckets(sessions, chosen), chosen.values(), START, END, step)
    listed = rules.drill_down(sessions, chosen, START, END, step)
    # The whole report: what the drill-down of the range lists, and only sessions of chosen sites.
    assert (report.totals.sessions, report.totals.energy_wh, report.totals.revenue) == _sum(listed)
    assert all(f.site_id in chosen for f in listed)
    outside = [f for f in sessions if f.site_id in chosen and f not in listed]
    for f in outside:  # a session left out ended outside the range in its site's local time
        day = f.end_utc.astimezone(ZoneInfo(chosen[f.site_id].timezone)).date()
        assert not START <= day < END
    # Each period and each site's period: exactly its drill-down.
    for row in report.periods:
        behind = rules.drill_down(sessions, chosen, START, END, step, row.period)
        assert (row.figures.sessions, row.figures.energy_wh, row.figures.revenue) == _sum(behind)
    for site in report.sites:
        assert sum(p.figures.sessions for p in site.periods) == site.totals.sessions
        for row in site.periods:
            behind = rules.drill_down(sessions, chosen, START, END, step, row.period, site.site.id)
            assert (row.figures.sessions, row.figures.energy_wh, row.figures.revenue) == _sum(behind)
    # Nothing counted twice across sites.
    assert sum(s.totals.sessions for s in report.sites) == report.totals.sessions


def test_dst_days_are_23_and_25_hours_long() -> None:
    berlin, new_york = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
    assert rules.day_hours(date(2026, 3, 29), berlin) == 23
    assert rules.day_hours(date(2026, 10, 25), berlin) == 25
    assert rules.day_hours(date(2026, 3, 8), new_york) == 23
    assert rules.day_hours(date(2026, 11, 1), new_york) == 25
    assert rules.day_hours(date(2026, 3, 30), berlin) == 24


def test_day_report_names_the_length_of_each_sites_day_and_counts_the_25th_hour() -> None:
    berlin = rules.SiteInfo(1, "Berlin", "Europe/Berlin", None)
    ny = rules.SiteInfo(2, "NY", "America/New_York", None)
    # 25 Oct 2026 in Berlin: 00:00 CEST (22:00Z on the 24th) to 24:00 CET (23:00Z on the 25th).
    sessions = [
        rules.SessionFact(
            1, "B1", 1, "B", _utc("2026-10-24T21:00"), _utc("2026-10-24T22:30"), 1000, None, "EUR"
        ),
        rules.SessionFact(
            2, "B2", 1, "B", _utc("2026-10-25T21:00"), _utc("2026-10-25T22:59"), 2000, None, "EUR"
        ),
        rules.SessionFact(
            3, "B3", 1, "B", _utc("2026-10-25T22:00"), _utc("2026-10-25T23:00"), 4000, None, "EUR"
        ),
        # 1 Nov 2026 in New York: 04:00Z to 05:00Z on the 2nd; 04:30Z on the 2nd is still the 1st.
        rules.SessionFact(
            4, "N1", 2, "N", _utc("2026-11-02T04:00"), _utc("2026-11-02T04:30"), 8000, Decimal("3.5"), "USD"
        ),
    ]
    report = rules.aggregate(
        rules.buckets(sessions, {1: berlin, 2: ny}),
        [berlin, ny],
        date(2026, 10, 24),
        date(2026, 11, 3),
        "day",
    )
    by_site = {s.site.id: {p.period: p for p in s.periods} for s in report.sites}
    assert by_site[1]["2026-10-25"].hours == 25 and by_site[1]["2026-10-24"].hours == 24
    assert by_site[1]["2026-10-25"].figures.sessions == 2  # 22:30Z on the 24th and 22:59Z on the 25th
    assert by_site[1]["2026-10-26"].figures.energy_wh == 4000  # 23:00Z on the 25th is the 26th in Berlin
    assert by_site[2]["2026-11-01"].hours == 25 and by_site[2]["2026-11-01"].figures.revenue == {
        "USD": Decimal("3.5")
    }
    # Two zones changing on different days make no common day length for the portfolio row.
    assert all(p.hours is None for p in report.periods)


def test_months_take_the_stored_uptime_and_combine_sites_by_their_sums() -> None:
    a = rules.SiteInfo(1, "A", "UTC", None)
    b = rules.SiteInfo(2, "B", "UTC", None)
    health = {
        (1, "2026-03"): MonthHealth(900, 0, 100, 0, 0, 0.9),
        (2, "2026-03"): MonthHealth(500, 0, 500, 0, 0, 0.5),
    }
    report = rules.aggregate([], [a, b], date(2026, 3, 1), date(2026, 5, 1), "month", health)
    march, april = report.periods
    assert march.uptime is not None and march.uptime.availability == pytest.approx(0.7)
    assert april.uptime is None and march.hours is None
    assert report.sites[0].periods[0].uptime == health[(1, "2026-03")]


def test_a_range_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError):
        rules.aggregate([], [], date(2026, 3, 1), date(2026, 3, 1), "month")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
