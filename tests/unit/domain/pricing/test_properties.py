"""Property tests of the pricing engine: non-negative lines that add up, monotone in energy, and a
schedule that agrees with the wall clock at every instant, DST nights included."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelet_app.domain.pricing import Plan, Rate, Schedule, Tariff, Window

ZONES = [ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")]
# DST days: spring forward (23 h) and fall back (25 h) in each zone
DST_DAYS = {
    "Europe/Berlin": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
}
money = st.decimals(min_value=0, max_value=5, places=4)
clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
rates = st.builds(Rate, per_kwh=money, per_hour=money)
windows = st.lists(
    st.builds(
        Window,
        label=st.sampled_from(["peak", "off-peak", "night", "weekend"]),
        rate=rates,
        start=clock,
        end=clock,
        weekdays=st.frozensets(st.integers(0, 6), min_size=1),
        priority=st.integers(0, 3),
    ),
    max_size=4,
    unique_by=lambda w: w.label,
)
plans = st.builds(
    Plan,
    base=rates,
    session_fee=money,
    idle_fee_per_minute=money,
    idle_grace_minutes=st.integers(0, 30),
    windows=windows.map(tuple),
)
# a start around the 2026 DST changes of both zones, then intervals of 1 s .. 2 h
starts = st.integers(int(datetime(2026, 3, 6).timestamp()), int(datetime(2026, 11, 3).timestamp()))
steps = st.lists(st.tuples(st.integers(0, 7200), st.floats(0, 20_000)), min_size=0, max_size=12)


def readings_from(start: int, step_list: list[tuple[int, float]]) -> list[tuple[float, float]]:
    out = [(float(start), 0.0)]
    for seconds, wh in step_list:
        out.append((out[-1][0] + seconds, out[-1][1] + wh))
    return out


@settings(max_examples=300, deadline=None)
@given(plans, st.sampled_from(ZONES), starts, steps, st.integers(0, 4 * 3600), money)
def test_lines_are_never_negative_and_add_up(plan, zone, start, step_list, linger, multiplier) -> None:
    readings = readings_from(start, step_list)
    price = Tariff(Schedule(plan, zone), "EUR").price(
        readings, end=readings[-1][0] + linger, multiplier=multiplier
    )
    assert all(line.amount >= 0 and line.quantity >= 0 for line in price.lines)
    assert price.total == sum(line.amount for line in price.lines)
    assert price.total.as_tuple().exponent == -2


@settings(max_examples=300, deadline=None)
@given(plans, st.sampled_from(ZONES), starts, steps, st.floats(1, 5), st.integers(0, 3600))
def test_more_energy_never_costs_less(plan, zone, start, step_list, factor, linger) -> None:
    tariff = Tariff(Schedule(plan, zone), "EUR")
    less = readings_from(start, step_list)
    more = readings_from(start, [(s, wh * factor) for s, wh in step_list])
    end = less[-1][0] + linger
    assert tariff.price(more, end=end).total >= tariff.price(less, end=end).total


def wall_tier(plan: Plan, zone: ZoneInfo, instant: float) -> int:
    """Reference: read the wall clock at the instant and check each window naively."""
    local = datetime.fromtimestamp(instant, zone).replace(tzinfo=None)
    labels = [label for label, _ in plan.tiers]
    best = None
    for i, w in enumerate(plan.windows):
        now, today, yesterday = local.time(), local.weekday(), (local.weekday() - 1) % 7
        if w.end <= w.start:
            inside = (today in w.weekdays and now >= w.start) or (yesterday in w.weekdays and now < w.end)
        else:
            inside = today in w.weekdays and w.start <= now < w.end
        if inside and (best is None or (w.priority, -i) > best[0]):
            best = ((w.priority, -i), labels.index(w.label))
    return 0 if best is None else best[1]


def tier_at(schedule: Schedule, instant: float) -> int:
    (tier,) = [t for a, b, t in schedule.day(schedule.local_day(instant)) if a <= instant < b]
    return tier


@settings(max_examples=200, deadline=None)
@given(plans, st.sampled_from(ZONES), st.integers(0, 1), st.integers(-6 * 3600, 30 * 3600))
def test_schedule_agrees_with_the_wall_clock_on_dst_days(plan, zone, which, offset) -> None:
    day = DST_DAYS[zone.key][which]
    instant = datetime.combine(day, time(0), tzinfo=zone).timestamp() + offset
    schedule = Schedule(plan, zone)
    assert tier_at(schedule, instant) == wall_tier(plan, zone, instant)


@given(st.sampled_from(ZONES), st.integers(0, 1))
def test_local_days_are_23_and_25_hours_long_and_tile_the_time_line(zone, which) -> None:
    day = DST_DAYS[zone.key][which]
    schedule = Schedule(Plan(windows=(Window("night", Rate(), time(22), time(6)),)), zone)
    ordinal = day.toordinal()
    segments = schedule.day(ordinal)
    assert segments[-1][1] - segments[0][0] == (23 if which == 0 else 25) * 3600
    assert all(a[1] == b[0] for a, b in pairwise(segments))
    assert schedule.day(ordinal - 1)[-1][1] == segments[0][0] == schedule.day(ordinal)[0][0]
    assert segments[-1][1] == schedule.day(ordinal + 1)[0][0]
    # the night window: 6 wall-clock hours of it on this day (00:00-06:00), one more or less in UTC
    night = sum(b - a for a, b, tier in segments if tier == 1)
    assert night == 8 * 3600 + (-3600 if which == 0 else 3600)


def test_fall_back_hour_is_priced_twice_by_a_window_covering_it() -> None:
    zone = ZoneInfo("Europe/Berlin")
    plan = Plan(
        base=Rate(per_kwh=Decimal("0.50")),
        windows=(Window("dip", Rate(per_kwh=Decimal("0.10")), time(2), time(3)),),
    )
    schedule = Schedule(plan, zone)
    day = date(2026, 10, 25)
    dip = [b - a for a, b, tier in schedule.day(day.toordinal()) if tier == 1]
    assert dip == [7200]  # 02:00-03:00 happens twice, back to back
    spring = [b - a for a, b, tier in schedule.day(date(2026, 3, 29).toordinal()) if tier == 1]
    assert spring == []  # and never on the spring-forward night
    start = datetime(2026, 10, 25, 0, tzinfo=zone).timestamp()
    readings = [(start + 3600 * h, 1000.0 * h) for h in range(5)]  # 1 kWh per UTC hour, 00:00-03:00 local
    tariff = Tariff(schedule, "EUR")
    assert tariff.price(readings).total == Decimal("0.50") * 2 + Decimal("0.10") * 2
    assert timedelta(seconds=readings[-1][0] - start) == timedelta(hours=4)
