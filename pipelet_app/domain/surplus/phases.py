"""1p/3p switching: only where charger and car can, only after a delay, and never twice within a lockout.

A three-phase car needs 6 A x 3 x 230 V = 4.1 kW to charge at all, a single-phase one 1.4 kW but gets
at most 16 A x 230 V = 3.7 kW. With a spread of possible surpluses for the coming lockout period (recent
measurements moved there by the clear-sky forecast, `forecast.surplus_spread`), the phase count that
is expected to take more sun from it wins, after `phase_spread_delay_s`: on a broken-cloud afternoon
the surplus swings between 2 and 7 kW, and a rule that looks at the power of the moment drops to one
phase in every cloud and is then locked there while the sun is back. Without a spread (no PV metering
yet): switch down when the power this charger can have stays below the three-phase minimum for
`phase_down_delay_s`; switch up when it stays above the three-phase minimum plus `phase_up_margin_w`
for `phase_up_delay_s` and the forecast for the next lockout period agrees. After a switch the charger
may not switch again for `phase_lockout_s` (10 min by default), which bounds switches to six an hour
whatever the clouds do: the "no flapping" invariant the property tests check. Between the thresholds
nothing changes (hysteresis). A charger that is off does not switch unless it is about to start on the
other phase count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from pipelet_app.domain.surplus.model import ChargerMemory, ControllerSettings


def lockout_over(memory: ChargerMemory, now: datetime, settings: ControllerSettings) -> bool:
    last = memory.last_phase_switch
    return last is None or (now - last).total_seconds() >= settings.phase_lockout_s


def expected_solar_w(spread: Sequence[float], min_w: float, max_w: float) -> float:
    """Mean power a car would take from the sun over `spread` on phases with this minimum and maximum.

    Below the minimum it counts nothing: bridging from the grid is short and budgeted, so on average
    a car below its minimum is paused. (Crediting part of the sun there was measured: more switches
    and restarts, less solar.)
    """
    if not spread:
        return 0.0
    return sum(min(power_w, max_w) for power_w in spread if power_w >= min_w) / len(spread)


def choose_phases(
    memory: ChargerMemory,
    current: int,
    power_w: float,
    outlook_w: float | None,
    min_a: float,
    voltage_v: float,
    now: datetime,
    settings: ControllerSettings,
    max_a: float = 16.0,
    spread: Sequence[float] | None = None,
) -> tuple[int, ChargerMemory, str | None]:
    """Phases to use now for a charger that can switch, the updated memory and, on a switch, why.

    `power_w` is what this charger could have now (solar share or grid floor); `outlook_w` the mean
    of the same over the coming lockout period by the forecast (None without a forecast).
    """
    three_min_w = min_a * voltage_v * 3
    if spread and len(spread) >= settings.phase_spread_min_samples:
        one = expected_solar_w(spread, min_a * voltage_v, max_a * voltage_v)
        three = expected_solar_w(spread, three_min_w, max_a * voltage_v * 3)
        if three >= one + settings.phase_gain_w:
            want, delay = 3, settings.phase_spread_delay_s
        elif one >= three + settings.phase_gain_w:
            want, delay = 1, settings.phase_spread_delay_s
        else:
            want, delay = current, 0.0
    elif power_w >= three_min_w + settings.phase_up_margin_w and (
        outlook_w is None or outlook_w >= three_min_w
    ):
        want, delay = 3, settings.phase_up_delay_s
    elif power_w < three_min_w:
        want, delay = 1, settings.phase_down_delay_s
    else:
        want, delay = current, 0.0
    if want == current:
        return current, replace(memory, phase_want=None, phase_want_since=None), None
    since = memory.phase_want_since if memory.phase_want == want and memory.phase_want_since else now
    memory = replace(memory, phase_want=want, phase_want_since=since)
    waited = (now - since).total_seconds()
    if waited < delay or not lockout_over(memory, now, settings):
        return current, memory, None
    why = (
        f"switching to 3 phases: {power_w / 1000:.1f} kW available for {waited:.0f} s"
        if want == 3
        else f"switching to 1 phase: {power_w / 1000:.1f} kW is below the 3-phase minimum "
        f"{three_min_w / 1000:.1f} kW"
    )
    memory = replace(memory, phase_want=None, phase_want_since=None, last_phase_switch=now, phases=want)
    return want, memory, why
