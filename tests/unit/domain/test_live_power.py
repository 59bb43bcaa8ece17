"""`domain.live_power.power_w`: a running session's power from its readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.live_power import POWER, REGISTER, Reading, power_w

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_reported_power_wins_and_kw_is_converted() -> None:
    readings = [
        Reading(T0, REGISTER, 1000, "Wh"),
        Reading(T0 + timedelta(minutes=1), REGISTER, 1200, "Wh"),
        Reading(T0 + timedelta(minutes=1), POWER, 7.4, "kW"),
    ]
    assert power_w(readings) == 7400


def test_register_rise_without_reported_power() -> None:
    readings = [
        Reading(T0, REGISTER, 10.0, "kWh"),
        Reading(T0 + timedelta(minutes=30), REGISTER, 13.7, "kWh"),
    ]
    assert power_w(readings) == 7400


def test_nothing_to_go_on_is_none() -> None:
    assert power_w([]) is None
    assert power_w([Reading(T0, REGISTER, 5, "Wh")]) is None
    assert power_w([Reading(T0, REGISTER, 5, "Wh"), Reading(T0, REGISTER, 9, "Wh")]) is None
    assert (
        power_w([Reading(T0, REGISTER, 9, "Wh"), Reading(T0 + timedelta(seconds=60), REGISTER, 5, "Wh")])
        is None
    )


@given(
    st.floats(min_value=0, max_value=1e9, allow_nan=False),
    st.floats(min_value=0, max_value=350_000, allow_nan=False),
    st.integers(min_value=1, max_value=86_400),
)
def test_constant_power_is_found_again_from_the_register(start_wh: float, watts: float, seconds: int) -> None:
    end_wh = start_wh + watts * seconds / 3600
    got = power_w(
        [
            Reading(T0, REGISTER, start_wh, "Wh"),
            Reading(T0 + timedelta(seconds=seconds), REGISTER, end_wh, "Wh"),
        ]
    )
    assert (
        got is not None and abs(got - watts) <= 1e-6 * max(1.0, watts) + abs(start_wh) * 1e-9 * 3600 / seconds
    )


def test_power_curve_averages_each_interval_and_skips_impossible_ones() -> None:
    from pipelet_app.domain.live_power import power_curve

    readings = [
        Reading(T0 + timedelta(minutes=10), REGISTER, 1_000, "Wh"),
        Reading(T0, REGISTER, 0, "Wh"),
        Reading(T0 + timedelta(minutes=20), REGISTER, 900, "Wh"),  # backwards: left out
        Reading(T0 + timedelta(minutes=20), REGISTER, 900, "Wh"),  # no time: left out
        Reading(T0 + timedelta(minutes=30), REGISTER, 1_900, "Wh"),
        Reading(T0 + timedelta(minutes=30), POWER, 7, "kW"),  # not a register
    ]
    assert power_curve(readings) == [(T0 + timedelta(minutes=10), 6_000), (T0 + timedelta(minutes=30), 6_000)]
