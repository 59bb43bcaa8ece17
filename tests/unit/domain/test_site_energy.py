"""The measured solar-share rule (docs/solar-share.md): examples and properties."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.site_energy import (
    SiteMinute,
    allocate,
    default_departure,
    default_energy_wh,
    floor_minute,
    session_solar,
    site_minute,
    spread_energy,
)

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
wh = st.floats(min_value=0, max_value=1e5, allow_nan=False)


def test_house_first_then_cars_pro_rata() -> None:
    a = allocate(pv_wh=100, house_wh=40, car_wh=[30, 90])
    assert a.house_solar_wh == 40
    assert a.car_solar_wh == (15.0, 45.0)  # 60 Wh left, shared 1:3
    assert a.rest_wh == 0


def test_surplus_beyond_the_cars_is_rest() -> None:
    a = allocate(pv_wh=100, house_wh=10, car_wh=[20])
    assert (a.house_solar_wh, a.car_solar_wh, a.rest_wh) == (10, (20,), 70)


def test_house_load_from_the_grid_balance_and_battery_discharge_is_not_solar() -> None:
    # PV 3 kW, battery discharging 1 kW, importing 2 kW, cars 4 kW -> house 2 kW
    m = site_minute({"pv": 3000, "battery": 1000, "grid": 2000, "charger": 4000})
    assert m.load_w == 2000 and m.house_measured
    assert m.ev_solar_w == 1000  # 3 kW PV - 2 kW house; the battery's 1 kW is not solar


def test_without_grid_or_load_meter_the_house_is_unknown() -> None:
    m = site_minute({"pv": 3000, "charger": 1000})
    assert m.load_w is None and not m.house_measured


@given(pv=wh, house=wh, cars=st.lists(wh, min_size=0, max_size=6))
def test_allocation_conserves_energy_and_never_exceeds_pv_or_demand(pv, house, cars) -> None:
    a = allocate(pv, house, cars)
    assert math.isclose(a.house_solar_wh + math.fsum(a.car_solar_wh) + a.rest_wh, pv, abs_tol=1e-6)
    assert a.house_solar_wh <= house + 1e-9
    assert math.fsum(a.car_solar_wh) <= pv + 1e-6
    assert a.rest_wh >= -1e-6
    for got, wanted in zip(a.car_solar_wh, cars, strict=True):
        assert 0 <= got <= wanted + 1e-6


minute_st = st.builds(
    SiteMinute,
    pv_w=st.one_of(st.none(), st.floats(0, 50_000)),
    load_w=st.one_of(st.none(), st.floats(0, 50_000)),
    ev_w=st.one_of(st.none(), st.floats(0, 50_000)),
    house_measured=st.booleans(),
)


@given(st.lists(st.tuples(st.floats(0, 500), st.one_of(st.none(), minute_st)), max_size=60))
def test_session_never_gets_more_solar_than_its_energy_or_the_pv(minutes) -> None:
    result = session_solar(minutes)
    energy = math.fsum(e for e, _ in minutes)
    pv = math.fsum((m.pv_w or 0) / 60 for e, m in minutes if m is not None and e > 0)
    assert 0 <= result.solar_wh <= energy + 1e-6
    assert result.solar_wh <= pv + 1e-6
    if any(e > 0 and (m is None or m.pv_w is None) for e, m in minutes):
        assert result.estimated


def test_missing_minutes_are_estimated_and_count_no_solar() -> None:
    full = SiteMinute(pv_w=6000, load_w=0, ev_w=3000, house_measured=True)
    result = session_solar([(50.0, full), (50.0, None)])
    assert result == type(result)(50.0, True)


@given(
    energy=st.floats(0, 50_000),
    duration_s=st.integers(1, 6 * 3600),
    rises=st.lists(st.floats(0, 2000), max_size=30),
)
def test_spread_sums_to_the_session_energy(energy, duration_s, rises) -> None:
    start = T0 + timedelta(seconds=17)
    end = start + timedelta(seconds=duration_s)
    step = duration_s / (len(rises) + 1)
    registers, value = [(start, 1000.0)], 1000.0
    for i, rise in enumerate(rises, start=1):
        value += rise
        registers.append((start + timedelta(seconds=step * i), value))
    spread = spread_energy(start, end, energy, registers)
    assert math.isclose(math.fsum(spread.values()), energy, rel_tol=1e-9, abs_tol=1e-6)
    assert all(v >= 0 and m == floor_minute(m) for m, v in spread.items())
    assert all(floor_minute(start) <= m <= end for m in spread)


def test_spread_follows_the_register() -> None:
    registers = [(T0, 0.0), (T0 + timedelta(minutes=1), 100.0), (T0 + timedelta(minutes=2), 100.0)]
    spread = spread_energy(T0, T0 + timedelta(minutes=3), 100.0, registers)
    assert spread == {T0: 100.0}


def test_default_profiles() -> None:
    assert default_departure(T0, None) == T0 + timedelta(hours=8)
    assert default_departure(T0, "DC") == T0 + timedelta(minutes=45)
    assert default_energy_wh("ac") == 20_000
