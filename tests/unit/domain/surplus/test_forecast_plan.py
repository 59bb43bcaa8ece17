"""Forecast (clear-sky shape x learned ratio) and departure plan (cheapest, then latest slots)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelet_app.domain.surplus import PricePoint, PriceSeries
from pipelet_app.domain.surplus.forecast import calm_sky, clear_sky_ghi, forecast, remember, surplus_spread
from pipelet_app.domain.surplus.plan import plan_departure

LAT, LON = 39.74, -105.18  # Golden, Colorado (the shared irradiance data)
NOON = datetime(2018, 10, 18, 19, 0, tzinfo=UTC).timestamp()  # local solar noon is about 18:50 UTC


def test_clear_sky_is_zero_at_night_and_high_at_noon() -> None:
    assert clear_sky_ghi(NOON - 12 * 3600, LAT, LON) == 0.0
    assert 600 < clear_sky_ghi(NOON, LAT, LON) < 900


def test_forecast_learns_the_ratio_and_knows_the_sun_sets() -> None:
    history: tuple = ()
    for minute in range(30):
        t = NOON + minute * 60
        history = remember(history, t, 8.0 * clear_sky_ghi(t, LAT, LON), 500.0, 1800)
    fc = forecast(history, NOON + 29 * 60, LAT, LON)
    assert fc is not None
    assert fc.mean_ratio == pytest.approx(8.0, rel=1e-6)
    assert fc.pv_w(NOON + 29 * 60) == pytest.approx(8.0 * clear_sky_ghi(NOON + 29 * 60, LAT, LON), rel=1e-6)
    assert fc.pv_w(NOON + 8 * 3600) == 0.0
    assert fc.surplus_w(NOON + 8 * 3600) == pytest.approx(-500.0)


def test_forecast_blends_a_cloud_now_back_to_the_recent_mean() -> None:
    history: tuple = ()
    for minute in range(30):
        t = NOON + minute * 60
        ratio = 8.0 if minute < 29 else 2.0  # a cloud in the last minute
        history = remember(history, t, ratio * clear_sky_ghi(t, LAT, LON), 0.0, 1800)
    now = NOON + 29 * 60
    fc = forecast(history, now, LAT, LON)
    assert fc is not None
    soon, later = fc.pv_w(now + 30), fc.pv_w(now + 1800)
    assert soon < later  # persistence fades towards the half-hour mean
    assert later == pytest.approx(fc.mean_ratio * clear_sky_ghi(now + 1800, LAT, LON), rel=0.01)


def _sky(ratios: list[float]) -> tuple:
    history: tuple = ()
    for minute, ratio in enumerate(ratios):
        t = NOON + minute * 60
        history = remember(history, t, ratio * clear_sky_ghi(t, LAT, LON), 300.0, 1800)
    return history


def test_a_sky_on_the_clear_sky_curve_is_calm_and_a_passing_cloud_is_not() -> None:
    now = NOON + 11 * 60
    assert calm_sky(_sky([8.0] * 12), now, LAT, LON, 600, 0.05)
    assert calm_sky(_sky([8.0, 8.1, 7.9] * 4), now, LAT, LON, 600, 0.05)
    assert not calm_sky(_sky([8.0] * 6 + [6.0] + [8.0] * 5), now, LAT, LON, 600, 0.05)
    # a cloud older than the window no longer counts
    assert calm_sky(_sky([2.0] + [8.0] * 12), NOON + 12 * 60, LAT, LON, 600, 0.05)


def test_calm_needs_a_location_a_full_window_and_daylight() -> None:
    assert not calm_sky(_sky([8.0] * 12), NOON + 11 * 60, None, None, 600, 0.05)
    assert not calm_sky(_sky([8.0] * 4), NOON + 3 * 60, LAT, LON, 600, 0.05)
    night = NOON - 12 * 3600
    history = tuple((night + m * 60, 0.0, 300.0) for m in range(12))
    assert not calm_sky(history, night + 11 * 60, LAT, LON, 600, 0.05)


def test_forecast_without_location_is_measured_power() -> None:
    history = remember((), 0.0, 3000.0, 1000.0, 1800)
    fc = forecast(history, 0.0, None, None)
    assert fc is not None and fc.surplus_w(0.0) == pytest.approx(2000.0)


def test_unlocated_spread_is_the_recent_surplus_as_measured_up_to_a_given_moment() -> None:
    history = ((0.0, 4000.0, 1000.0), (60.0, 2000.0, 1400.0), (120.0, 3000.0, 600.0))
    spread = surplus_spread(history, 120.0, 60.0, None, None)
    assert sum(spread) / len(spread) == pytest.approx(((2000 - 1400) + (3000 - 600)) / 2)
    # a window ending later than the latest sample (a cycle without a PV reading) holds fewer samples
    assert len(surplus_spread(history, 150.0, 60.0, None, None, until_s=150.0)) == 1
    assert surplus_spread(history, 500.0, 60.0, None, None, until_s=500.0) == ()


def test_plan_needs_no_grid_when_the_sun_covers_it() -> None:
    plan = plan_departure(0, 3600 * 5, 5000, 11000, expected_solar_wh=20000, safety=0.7)
    assert plan.power_w == 0 and "sun" in plan.reason


def test_plan_picks_the_latest_slots_at_flat_prices() -> None:
    # 11 kWh in 5 h at 11 kW: one hour of slots needed, the last hour
    later = plan_departure(0, 5 * 3600, 10000, 11000, expected_solar_wh=0, safety=0.7)
    assert later.power_w == 0 and "later" in later.reason
    last_hour = plan_departure(4 * 3600, 5 * 3600, 10000, 11000, expected_solar_wh=0, safety=0.7)
    assert last_hour.power_w == pytest.approx(11000)


def test_plan_picks_the_cheapest_slot() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    t0 = start.timestamp()
    prices = PriceSeries(
        tuple(
            PricePoint(datetime.fromtimestamp(t0 + h * 3600, UTC), p)
            for h, p in enumerate([0.3, 0.1, 0.3, 0.3])
        ),
        slot_s=3600,
    )
    assert plan_departure(t0, t0 + 4 * 3600, 5000, 11000, 0, 0.7, prices).power_w == 0
    cheap = plan_departure(t0 + 3600, t0 + 4 * 3600, 5000, 11000, 0, 0.7, prices)
    assert cheap.power_w == pytest.approx(5500) and cheap.slot_price == 0.1


def test_plan_full_power_when_the_departure_cannot_be_met() -> None:
    plan = plan_departure(0, 3600, 20000, 11000, 0, 0.7)
    assert plan.power_w == 11000 and "cannot be met" in plan.reason
