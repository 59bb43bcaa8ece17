"""`domain.site_balance.implausible_house_w`: readings that give a negative house load are not believed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.site_balance import Reading, house_load_w, implausible_house_w, tolerance_w

T0 = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
SPAN = timedelta(seconds=90)


def site(
    pv: float, grid: float, battery: float, car: float, *, every_s: int = 10, n: int = 12
) -> list[Reading]:
    out = []
    for i in range(n):
        ts = T0 + timedelta(seconds=i * every_s)
        out += [
            Reading(1, "pv", ts, pv),
            Reading(2, "grid", ts, grid),
            Reading(3, "battery", ts, battery),
            Reading(4, "charger", ts, car),
        ]
    return out


def test_the_reported_case_is_flagged() -> None:
    # PV 9 kW, export 8 kW, two cars at 4.1 kW each: house 9 - 8 - 8.2 = -7.2 kW.
    second_car = [Reading(5, "charger", T0 + timedelta(seconds=i * 10), 4100) for i in range(12)]
    readings = site(9000, -8000, 0, 4100) + second_car
    assert implausible_house_w(readings, SPAN) == house_load_w(9000, -8000, 0, 8200)


def test_a_house_load_of_minus_4_3_kw_is_flagged_and_a_small_one_is_not() -> None:
    assert implausible_house_w(site(5000, -1300, 0, 8000), SPAN) == -4300
    assert implausible_house_w(site(5000, -1300, 0, 3900), SPAN) is None  # -200 W: within 300 W
    # 5 % of a large production is tolerated: PV 20 kW, -900 W.
    assert tolerance_w(20000) == 1000
    assert implausible_house_w(site(20000, -11900, 0, 9000), SPAN) is None
    assert implausible_house_w(site(20000, -12100, 0, 9000), SPAN) == -1100


def test_it_must_last_the_span() -> None:
    assert implausible_house_w(site(5000, -1300, 0, 8000, n=9), SPAN) is None  # 80 s
    assert implausible_house_w(site(5000, -1300, 0, 8000, n=10), SPAN) == -4300  # 90 s


def test_one_plausible_instant_clears_it() -> None:
    readings = site(5000, -1300, 0, 8000)
    ts = T0 + timedelta(seconds=60)
    readings = [
        Reading(r.device_id, r.kind, r.ts, 0.0) if r.ts == ts and r.kind == "charger" else r for r in readings
    ]
    assert implausible_house_w(readings, SPAN) is None


def test_a_load_meter_is_not_part_of_the_balance_and_no_grid_means_no_verdict() -> None:
    readings = [*site(5000, -1300, 0, 8000), Reading(9, "load", T0, 50.0)]
    assert implausible_house_w(readings, SPAN) == -4300
    assert implausible_house_w([r for r in readings if r.kind != "grid"], SPAN) is None


def test_the_balance_waits_for_every_device() -> None:
    late_car = [
        r for r in site(5000, -1300, 0, 8000) if r.kind != "charger" or r.ts >= T0 + timedelta(seconds=40)
    ]
    assert implausible_house_w(late_car, SPAN) is None  # balanced from 40 s on: 70 s


watts = st.floats(0, 50_000, allow_nan=False)


@given(
    steps=st.lists(
        st.tuples(watts, watts, st.floats(-10_000, 10_000), st.lists(st.floats(0, 22_000), max_size=4)),
        min_size=1,
        max_size=30,
    ),
    every_s=st.integers(1, 30),
)
def test_a_consistent_balance_is_never_flagged(
    steps: list[tuple[float, float, float, list[float]]], every_s: int
) -> None:
    """Any readings whose grid is what PV, a non-negative house load, the battery and the cars make it."""
    readings = []
    cars = max((len(s[3]) for s in steps), default=0)
    for i, (pv, house, battery, car_w) in enumerate(steps):
        ts = T0 + timedelta(seconds=i * every_s)
        car_w = car_w + [0.0] * (cars - len(car_w))
        grid = house + sum(car_w) - pv - battery
        readings += [
            Reading(1, "pv", ts, pv),
            Reading(2, "grid", ts, grid),
            Reading(3, "battery", ts, battery),
        ]
        readings += [Reading(10 + k, "charger", ts, w) for k, w in enumerate(car_w)]
    assert implausible_house_w(readings, timedelta(0)) is None
