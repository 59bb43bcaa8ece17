"""`domain.live_power.power_w`: a running session's power from its readings."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain import meter_energy
from pipelet_app.domain.live_power import POWER, REGISTER, Reading, power_w, register_draw

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


# --- register_draw: the surplus loop's draw of a charger that reports only its register ---------------


def test_register_draw_is_the_rise_of_the_two_newest_readings_as_of_the_newer() -> None:
    readings = [
        Reading(T0, REGISTER, 12.000, "kWh"),
        Reading(T0 + timedelta(seconds=10), REGISTER, 12_010, "Wh"),
        Reading(T0 + timedelta(seconds=20), REGISTER, 12.030, "kWh"),
        Reading(T0 + timedelta(seconds=20), POWER, 9.9, "kW"),  # not a register
    ]
    draw = register_draw(readings, T0 + timedelta(seconds=25))
    assert draw is not None and draw.at == T0 + timedelta(seconds=20)
    assert abs(draw.watts - 7200) < 1e-6  # 20 Wh in 10 s, not the 10 Wh of the first 10 s


def test_the_start_register_counts_as_a_reading_a_zero_reading_does_not() -> None:
    first = Reading(T0 + timedelta(seconds=9), REGISTER, 12_010, "Wh")
    start = Reading(T0, REGISTER, 12_000, "Wh")
    assert register_draw([first], T0 + timedelta(seconds=10)) is None
    draw = register_draw([first], T0 + timedelta(seconds=10), start=start)
    assert draw is not None and abs(draw.watts - 4000) < 1e-6
    # a 0 among the readings is an unread meter (decide_start), a 0 start the charger stands by
    unread = Reading(T0, REGISTER, 0, "Wh")
    assert register_draw([unread, Reading(first.at, REGISTER, 10, "Wh")], first.at) is None
    draw = register_draw([Reading(first.at, REGISTER, 10, "Wh")], first.at, start=unread)
    assert draw is not None and abs(draw.watts - 4000) < 1e-6


def test_a_draw_older_than_two_intervals_is_not_now() -> None:
    readings = [Reading(T0, REGISTER, 1000, "Wh"), Reading(T0 + timedelta(seconds=30), REGISTER, 1050, "Wh")]
    assert register_draw(readings, T0 + timedelta(seconds=90)) is not None  # 60 s = two intervals
    assert register_draw(readings, T0 + timedelta(seconds=91)) is None


def test_a_reset_or_a_jump_gives_no_draw() -> None:
    at = T0 + timedelta(seconds=10)
    reset = [Reading(T0, REGISTER, 5000, "Wh"), Reading(at, REGISTER, 12, "Wh")]
    assert register_draw(reset, at) is None
    # 11 kW connector: 10 s (+ a minute of slack, 10 % tolerance) allow 235 Wh
    assert meter_energy.allowance_wh(10, 11_000) < 300 < meter_energy.allowance_wh(10, 350_000)
    jump = [Reading(T0, REGISTER, 5000, "Wh"), Reading(at, REGISTER, 5300, "Wh")]
    assert register_draw(jump, at, max_power_w=11_000) is None
    assert register_draw(jump, at) is not None  # the 350 kW of an unknown connector allow it


def test_readings_at_one_instant_count_once() -> None:
    at = T0 + timedelta(seconds=10)
    readings = [
        Reading(T0, REGISTER, 1000, "Wh"),
        Reading(at, REGISTER, 1010, "Wh"),
        Reading(at, REGISTER, 1010, "Wh"),
    ]
    draw = register_draw(readings, at)
    assert draw is not None and abs(draw.watts - 3600) < 1e-6
    assert register_draw([Reading(at, REGISTER, 1000, "Wh"), Reading(at, REGISTER, 1010, "Wh")], at) is None


@given(
    st.floats(min_value=1, max_value=1e8, allow_nan=False),
    st.floats(min_value=0, max_value=50_000, allow_nan=False),
    st.integers(min_value=1, max_value=900),
    st.floats(min_value=0, max_value=2),
    st.booleans(),
    st.permutations(range(3)),
)
def test_a_steady_draw_is_found_again_in_any_unit_and_order(
    start_wh: float, watts: float, interval_s: int, age: float, kwh: bool, order: list[int]
) -> None:
    """Three readings of a steady draw, in Wh or kWh, in any order, the newest at most two intervals old:
    the draw is found again as of the newest reading."""
    unit, scale = ("kWh", 1000.0) if kwh else ("Wh", 1.0)
    readings = [
        Reading(
            T0 + timedelta(seconds=i * interval_s),
            REGISTER,
            (start_wh + watts * i * interval_s / 3600) / scale,
            unit,
        )
        for i in range(3)
    ]
    now = T0 + timedelta(seconds=2 * interval_s + age * interval_s)
    draw = register_draw([readings[i] for i in order], now)
    assert draw is not None and draw.at == readings[2].at
    assert abs(draw.watts - watts) <= 1e-6 * max(1.0, watts) + start_wh * 1e-9 * 3600 / interval_s


def test_a_draw_the_connector_cannot_carry_is_no_reading() -> None:
    """A 1.6 `meterStart` and a register 10 s later rising 50 Wh say 18 kW: within the 350 kW of an
    unknown connector, but an 11 kW wallbox (16 A x 3 x 230 V) cannot draw it. No reading, not 11 kW."""
    start = Reading(T0, REGISTER, 12_000, "Wh")
    first = Reading(T0 + timedelta(seconds=10), REGISTER, 12.050, "kWh")
    now = first.at
    assert register_draw([first], now, start=start) is not None  # the 350 kW rule alone lets it pass
    assert register_draw([first], now, start=start, carry_w=16 * 3 * 230) is None
    # a car at the connector's limit, a 240 V grid and a stamp a second short still count
    at_limit = Reading(T0 + timedelta(seconds=9), REGISTER, 12_000 + 11_040 * 1.04 * 10 / 3600, "Wh")
    draw = register_draw([at_limit], at_limit.at, start=start, carry_w=11_040)
    assert draw is not None and abs(draw.watts - 11_040 * 1.04 * 10 / 9) < 1e-6


@given(
    st.floats(min_value=100, max_value=50_000),
    st.floats(min_value=0, max_value=3),
    st.integers(min_value=1, max_value=900),
)
def test_a_draw_counts_exactly_while_the_connector_can_carry_it(
    carry_w: float, ratio: float, interval_s: int
) -> None:
    """Two readings of a steady draw `ratio` times what the connector carries: found again while within
    the tolerance (10 % and a second of stamp resolution), no reading above it, never a clamped figure."""
    watts = carry_w * ratio
    readings = [
        Reading(T0, REGISTER, 5000, "Wh"),
        Reading(T0 + timedelta(seconds=interval_s), REGISTER, 5000 + watts * interval_s / 3600, "Wh"),
    ]
    draw = register_draw(readings, readings[1].at, carry_w=carry_w)
    bound = carry_w * meter_energy.POWER_TOLERANCE * (interval_s + 1) / interval_s
    step_ok = (
        meter_energy.step_flag(
            meter_energy.Reading(T0, 5000), meter_energy.Reading(readings[1].at, readings[1].value)
        )
        is None
    )
    if watts <= bound * (1 - 1e-9) and step_ok:
        assert draw is not None and abs(draw.watts - watts) <= 1e-6 * max(1.0, watts)
    elif watts > bound * (1 + 1e-9):
        assert draw is None


# --- register_rises: the site-energy feed's power of a charger that reports only its register --------


def test_a_register_that_went_backwards_or_reads_0_gives_no_feed_power() -> None:
    """The feed wrote 0 W for a fall (the loop took it as the car's draw now) and, after an unread 0,
    the whole register as one rise."""
    from pipelet_app.domain.live_power import register_rises

    s = [T0 + timedelta(seconds=10 * k) for k in range(6)]
    rises = register_rises((s[0], 12_000.0), [(s[1], 12_015.0), (s[2], 11_000.0), (s[3], 11_015.0)])
    assert rises == [(s[1], 5400.0), (s[3], 5400.0)]  # the fall: no sample; the next rise from it
    rises = register_rises((s[0], 12_000.0), [(s[2], 12_030.0), (s[1], 0.0), (s[3], 12_045.0)])
    assert rises == [(s[2], 5400.0), (s[3], 5400.0)]  # order by time; the 0 is no reading
    assert register_rises((s[0], 0.0), [(s[1], 12_015.0), (s[1], 12_016.0)]) == []  # no base; no time
    assert register_rises(None, []) == []


# --- a coarse register: 0.1 kWh read every 10 s -----------------------------------------------------


def coarse(watts: float, seconds: int, start_wh: float = 12_000.0, every: int = 10) -> list[Reading]:
    """The readings of a 0.1 kWh register (floored) of a car drawing `watts` for `seconds`."""
    return [
        Reading(
            T0 + timedelta(seconds=s),
            REGISTER,
            math.floor((start_wh + watts * s / 3600) / 100) * 100 / 1000,
            "kWh",
        )
        for s in range(0, seconds + 1, every)
    ]


def test_a_coarse_register_is_averaged_back_over_two_of_its_steps() -> None:
    """11 kW on a 0.1 kWh register read every 10 s: the two newest readings rise by 0 or 100 Wh, i.e.
    0 W or 36 kW (more than the connector carries: no reading). Read between the first readings of two
    values two steps apart, the draw is within a reading interval of 11 kW over its span."""
    from pipelet_app.domain.live_power import register_step_wh

    carry_w = 16 * 3 * 230
    for seconds in range(100, 241, 10):  # from the first reading two steps up
        readings = coarse(11_000.0, seconds)
        now = readings[-1].at + timedelta(seconds=4)
        pair = register_draw(readings[-2:], now, carry_w=carry_w)
        assert pair is None or pair.watts in (0.0, 36_000.0)  # what the two newest say
        draw = register_draw(readings, now, carry_w=carry_w)
        assert draw is not None, seconds
        assert 11_000 * 0.8 <= draw.watts <= 11_000 * 1.2, (seconds, draw)
        assert draw.at == readings[-1].at and draw.since is not None
    assert register_step_wh([12_300.0, 12_400.0, 12_400.0]) == 100.0
    assert register_step_wh([12_300.0, 12_410.0, 12_420.0]) == 10.0
    assert register_step_wh([12_301.0, 12_400.0, 12_500.0]) is None
    assert register_step_wh([12_300.0, 12_400.0]) is None  # too few to tell


def test_a_coarse_register_that_stops_stepping_counts_less_and_less() -> None:
    """The car stops after 120 s at 11 kW: the register stays; the draw falls as the time since its last
    step grows (a step over that time at most: a coarse register cannot tell a stop from a slow car)."""
    readings = coarse(11_000.0, 120)
    stopped = [
        Reading(readings[-1].at + timedelta(seconds=10 * k), REGISTER, readings[-1].value, "kWh")
        for k in (1, 2, 3, 4, 5, 6)
    ]
    watts = []
    for n in range(1, len(stopped) + 1):
        seen = readings + stopped[:n]
        draw = register_draw(seen, seen[-1].at + timedelta(seconds=4), carry_w=11_040)
        watts.append(draw.watts if draw is not None else 0.0)
    assert watts == sorted(watts, reverse=True) and watts[-1] < 11_000 * 0.6, watts


def test_a_fine_register_and_a_fall_are_read_as_before() -> None:
    """A 1 Wh register: the two newest readings decide (no step found). A coarse register that went
    backwards among the readings: nothing before the fall counts."""
    fine = [Reading(T0 + timedelta(seconds=10 * k), REGISTER, 12_000 + 15.3 * k, "Wh") for k in range(10)]
    draw = register_draw(fine, fine[-1].at)
    assert draw is not None and draw.since == fine[-2].at
    readings = coarse(11_000.0, 120)
    reset = [*readings, Reading(readings[-1].at + timedelta(seconds=10), REGISTER, 0.1, "kWh")]
    assert register_draw(reset, reset[-1].at) is None
