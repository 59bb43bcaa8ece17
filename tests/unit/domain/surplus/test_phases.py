"""1p/3p switching from the spread of recent surpluses (`phases.choose_phases` with `spread`)."""

from __future__ import annotations

from pipelet_app.domain.surplus import ControllerSettings
from pipelet_app.domain.surplus.forecast import surplus_spread
from pipelet_app.domain.surplus.model import ChargerMemory
from pipelet_app.domain.surplus.phases import choose_phases, expected_solar_w
from tests.unit.domain.surplus.helpers import at

SETTINGS = ControllerSettings()
ONE_MIN_W, ONE_MAX_W = 6 * 230.0, 16 * 230.0
THREE_MIN_W, THREE_MAX_W = 6 * 690.0, 16 * 690.0


def test_expected_solar_counts_nothing_below_the_minimum_and_caps_at_the_maximum() -> None:
    spread = [1000.0, 2000.0, 9000.0, 12000.0]
    assert expected_solar_w(spread, ONE_MIN_W, ONE_MAX_W) == (0 + 2000 + ONE_MAX_W + ONE_MAX_W) / 4
    assert expected_solar_w(spread, THREE_MIN_W, THREE_MAX_W) == (0 + 0 + 9000 + THREE_MAX_W) / 4
    assert expected_solar_w([], ONE_MIN_W, ONE_MAX_W) == 0.0


def decide_phases(memory: ChargerMemory, current: int, power_w: float, spread: list[float], seconds: float):
    return choose_phases(memory, current, power_w, None, 6, 230.0, at(seconds), SETTINGS, 16, spread)


def test_a_passing_cloud_does_not_switch_down_when_three_phases_take_more_of_the_recent_sky() -> None:
    spread = [2000.0, 9000.0] * 10  # broken clouds: 3 phases take 4.5 kW on average, 1 phase 2.8 kW
    memory = ChargerMemory(phases=3)
    for seconds in range(0, 300, 10):
        phases, memory, why = decide_phases(memory, 3, 2000.0, spread, seconds)  # cloudy right now
        assert phases == 3 and why is None
    # the old rule (no spread) would have switched down after its 90 s delay
    memory, switched = ChargerMemory(phases=3), []
    for seconds in range(0, 300, 10):
        phases, memory, _ = choose_phases(memory, 3, 2000.0, None, 6, 230.0, at(seconds), SETTINGS)
        switched.append(phases)
    assert 1 in switched


def test_a_steady_small_surplus_switches_down_after_the_delay_and_the_lockout_holds() -> None:
    memory = ChargerMemory(phases=3)
    low, high = [3000.0] * 20, [9000.0] * 20
    phases_seen = []
    for seconds in range(0, 40, 10):
        phases, memory, _ = decide_phases(memory, 3, 3000.0, low, seconds)
        phases_seen.append(phases)
    assert phases_seen == [3, 3, 3, 1]  # wanted at 0 s, switched once it said so for 30 s
    current, switched_at = 1, 30
    for seconds in range(40, 40 + int(SETTINGS.phase_lockout_s), 10):
        current, memory, _ = decide_phases(memory, current, 9000.0, high, seconds)
        if seconds - switched_at < SETTINGS.phase_lockout_s:
            assert current == 1, "no second switch within the lockout"
    assert current == 3


def test_the_spread_moves_recent_samples_to_the_clear_sky_of_the_target_time() -> None:
    history = [(at(s).timestamp(), 5000.0, 1000.0) for s in range(0, 600, 60)]
    flat = surplus_spread(history, at(900).timestamp(), 600, None, None)
    assert flat == (4000.0,) * 10
    # Munich, noon -> 15:00 local: the sun sinks, so the same cloud ratios give less later on
    evening = surplus_spread(history, at(3 * 3600).timestamp(), 600, 48.1, 11.6)
    assert evening and max(evening) < 4000.0
