from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from pipelet_app.domain.pricing import Plan, Rate, Schedule, Tariff, Window

BERLIN = ZoneInfo("Europe/Berlin")
D = Decimal


def ts(*args: int, zone: ZoneInfo = BERLIN) -> float:
    return datetime(*args, tzinfo=zone).timestamp()


def tariff(plan: Plan, zone: ZoneInfo = BERLIN, currency: str = "EUR") -> Tariff:
    return Tariff(Schedule(plan, zone), currency)


PEAK = Window("peak", Rate(per_kwh=D("0.60")), time(17), time(21), weekdays=frozenset(range(5)), priority=1)
NIGHT = Window("night", Rate(per_kwh=D("0.25")), time(22), time(6))


def test_flat_plan_prices_energy_session_fee_and_idle_after_grace() -> None:
    plan = Plan(
        base=Rate(per_kwh=D("0.39")),
        session_fee=D("1.00"),
        idle_fee_per_minute=D("0.10"),
        idle_grace_minutes=15,
    )
    start = ts(2026, 3, 2, 10)  # a Monday
    readings = [(start, 1000.0), (start + 3600, 12_345.0), (start + 7200, 12_345.0)]
    price = tariff(plan).price(readings, end=start + 7200 + 30)
    # 11.345 kWh * 0.39 = 4.42455 -> 4.42; idle 60.5 min -> 60 whole minutes - 15 grace = 45 * 0.10
    assert [(line.label, line.amount) for line in price.lines] == [
        ("Session fee", D("1.00")),
        ("Energy (standard)", D("4.42")),
        ("Idle fee", D("4.50")),
    ]
    assert price.total == D("9.92") and price.currency == "EUR"


def test_interval_straddling_the_peak_start_is_split_by_time() -> None:
    plan = Plan(base=Rate(per_kwh=D("0.40")), windows=(PEAK,))
    start = ts(2026, 3, 2, 16, 30)  # Monday 16:30-17:30 local: half standard, half peak
    price = tariff(plan).price([(start, 0.0), (start + 3600, 10_000.0)])
    assert {line.label: (line.quantity, line.amount) for line in price.lines} == {
        "Energy (standard)": (D("5"), D("2.00")),
        "Energy (peak)": (D("5"), D("3.00")),
    }
    # Saturday: the weekday-only peak does not apply
    saturday = ts(2026, 3, 7, 16, 30)
    assert tariff(plan).price([(saturday, 0.0), (saturday + 3600, 10_000.0)]).total == D("4.00")


def test_window_across_midnight_belongs_to_the_evening_it_starts() -> None:
    friday_only = Window("night", Rate(per_kwh=D("0.10")), time(22), time(6), weekdays=frozenset({4}))
    plan = Plan(base=Rate(per_kwh=D("0.50")), windows=(friday_only,))
    saturday_3am = ts(2026, 3, 7, 3)
    assert tariff(plan).price([(saturday_3am, 0.0), (saturday_3am + 3600, 1000.0)]).total == D("0.10")
    sunday_3am = ts(2026, 3, 8, 3)
    assert tariff(plan).price([(sunday_3am, 0.0), (sunday_3am + 3600, 1000.0)]).total == D("0.50")


def test_higher_priority_wins_then_first_listed() -> None:
    low = Window("all day", Rate(per_kwh=D("0.30")), time(0), time(0))
    high = Window("peak", Rate(per_kwh=D("0.90")), time(8), time(9), priority=5)
    same = Window("promo", Rate(per_kwh=D("0.01")), time(0), time(0))
    start = ts(2026, 3, 2, 8, 15)
    readings = [(start, 0.0), (start + 60, 1000.0)]
    assert tariff(Plan(windows=(low, high))).price(readings).total == D("0.90")
    assert tariff(Plan(windows=(low, same))).price(readings).total == D("0.30")
    assert tariff(Plan(windows=(same, low))).price(readings).total == D("0.01")


def test_time_rate_charges_only_while_energy_flows_and_multiplier_scales_everything() -> None:
    plan = Plan(base=Rate(per_hour=D("3.00")), session_fee=D("0.50"), idle_fee_per_minute=D("0.20"))
    start = ts(2026, 3, 2, 10)
    readings = [(start, 0.0), (start + 1800, 5000.0), (start + 3600, 5000.0)]
    price = tariff(plan).price(readings, multiplier=D("1.1"))
    assert [(line.label, line.amount) for line in price.lines] == [
        ("Session fee", D("0.55")),
        ("Charging time (standard)", D("1.65")),
        ("Idle fee", D("6.60")),
    ]


def test_zero_decimal_currency_rounds_to_whole_units() -> None:
    plan = Plan(base=Rate(per_kwh=D("35.5")))
    start = ts(2026, 3, 2, 10)
    price = tariff(plan, ZoneInfo("Asia/Tokyo"), "JPY").price([(start, 0.0), (start + 600, 1001.0)])
    assert price.total == D("36") and price.total.as_tuple().exponent == 0


def test_meter_reset_adds_nothing() -> None:
    plan = Plan(base=Rate(per_kwh=D("1")))
    start = ts(2026, 3, 2, 10)
    readings = [(start, 5000.0), (start + 60, 100.0), (start + 120, 1100.0)]
    assert tariff(plan).price(readings).total == D("1.00")


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Rate(per_kwh=D("-0.1")), "per_kwh"),
        (lambda: Rate(per_hour=0.5), "per_hour"),
        (lambda: Plan(session_fee="x"), "session_fee"),
        (lambda: Plan(session_fee="1E+308"), "session_fee"),
        (lambda: Plan(idle_grace_minutes=-1), "idle_grace_minutes"),
        (lambda: Plan(idle_grace_minutes=2**31), "idle_grace_minutes"),
        (lambda: Window("", Rate(), time(1), time(2)), "label"),
        (lambda: Window("w", Rate(), time(1), time(2), weekdays=frozenset({7})), "weekdays"),
        (lambda: Plan(windows=(NIGHT, Window("night", Rate(per_kwh=D(1)), time(1), time(2)))), "windows"),
        (lambda: Tariff(Schedule(Plan(), BERLIN), "euro"), "currency"),
        (lambda: tariff(Plan()).price([]), "readings"),
        (lambda: tariff(Plan()).price([(10.0, 0.0), (5.0, 1.0)]), "readings"),
        (lambda: tariff(Plan()).price([(10.0, 0.0)], end=5.0), "end"),
        (lambda: tariff(Plan()).price([(10.0, 0.0)], multiplier=D("-1")), "multiplier"),
    ],
)
def test_bad_input_names_the_field(make, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        make()


def test_readings_in_utc_need_no_zone_of_their_own() -> None:
    plan = Plan(windows=(NIGHT,))
    start = datetime(2026, 7, 1, 21, 0, tzinfo=UTC).timestamp()  # 23:00 in Berlin (CEST)
    assert tariff(plan).price([(start, 0.0), (start + 3600, 4000.0)]).total == D("1.00")
