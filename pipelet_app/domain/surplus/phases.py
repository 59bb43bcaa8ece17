"""1p/3p switching: only where charger and car can, only after a delay, and never twice within a lockout.

A three-phase car needs 6 A x 3 x 230 V = 4.1 kW to charge at all, a single-phase one 1.4 kW but gets
at most 16 A x 230 V = 3.7 kW. So: switch down when the power this charger can have stays below the
three-phase minimum for `phase_down_delay_s`; switch up when it stays above the three-phase minimum plus
`phase_up_margin_w` for `phase_up_delay_s` and the forecast for the next lockout period agrees. After a
switch the charger may not switch again for `phase_lockout_s` (10 min by default), which bounds switches
to six an hour whatever the clouds do: the "no flapping" invariant the property tests check. Between
the thresholds nothing changes (hysteresis). A charger that is off does not switch unless it is about to
start on the other phase count.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from pipelet_app.domain.surplus.model import ChargerMemory, ControllerSettings


def lockout_over(memory: ChargerMemory, now: datetime, settings: ControllerSettings) -> bool:
    last = memory.last_phase_switch
    return last is None or (now - last).total_seconds() >= settings.phase_lockout_s


def choose_phases(
    memory: ChargerMemory,
    current: int,
    power_w: float,
    outlook_w: float | None,
    min_a: float,
    voltage_v: float,
    now: datetime,
    settings: ControllerSettings,
) -> tuple[int, ChargerMemory, str | None]:
    """Phases to use now for a charger that can switch, the updated memory and, on a switch, why.

    `power_w` is what this charger could have now (solar share or grid floor); `outlook_w` the mean
    of the same over the coming lockout period by the forecast (None without a forecast).
    """
    three_min_w = min_a * voltage_v * 3
    if power_w >= three_min_w + settings.phase_up_margin_w and (
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
