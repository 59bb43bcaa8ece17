"""What a car really draws: cars that take less than offered, or nothing at all.

evcc uses min(highest phase current + 2 A, offered). Here a car whose highest phase current stays more
than `draw_tolerance_a` below a limit that has stood for `draw_settle_s` gets a draw cap of its current
plus the tolerance: the controller offers it no more than that and gives the rest of the surplus to
other cars or leaves it unused, instead of planning with power that never flows. Surplus that no
other car takes is still offered to it (see `share.distribute`); when it then draws up to its cap the
cap is lifted, and every `draw_probe_s` it is lifted anyway, so a car that can take more again
(battery warmed up, taper over) gets it.
A car that draws nothing at all is marked; its offer counts as zero power when sharing.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime

from pipelet_app.domain.surplus.model import ChargerInput, ChargerMemory, ControllerSettings

NOT_DRAWING_A = 0.5


def measured_current_a(charger: ChargerInput, voltage_v: float) -> float:
    """Highest phase current: measured, or estimated from power on the active phases."""
    if charger.measured_a is not None:
        return max(0.0, charger.measured_a)
    return max(0.0, charger.measured_w) / (voltage_v * max(1, charger.phases))


def track_draw(
    memory: ChargerMemory,
    charger: ChargerInput,
    now: datetime,
    voltage_v: float,
    settings: ControllerSettings,
) -> ChargerMemory:
    """Update the draw cap and the not-drawing mark from the latest measurement."""
    if not memory.charging or memory.limit_since is None:
        return replace(memory, not_drawing_since=None)
    if (now - memory.limit_since).total_seconds() < settings.draw_settle_s:
        return memory
    current = measured_current_a(charger, voltage_v)
    if current < NOT_DRAWING_A:
        return replace(memory, not_drawing_since=memory.not_drawing_since or now)
    memory = replace(memory, not_drawing_since=None)
    if current < memory.limit_a - settings.draw_tolerance_a:
        # never below the minimum: a car drawing less than that stays capped at it, and its probe
        # clock is not restarted every cycle (it was, so such a car was never offered more again)
        cap = max(math.ceil((current + settings.draw_tolerance_a) * 10) / 10, charger.min_a)
        if memory.draw_cap_a is None or cap < memory.draw_cap_a:
            return replace(memory, draw_cap_a=cap, draw_cap_since=now)
        return memory
    if memory.draw_cap_a is not None:
        since = memory.draw_cap_since or now
        probe_due = (now - since).total_seconds() >= settings.draw_probe_s
        if probe_due or current >= memory.draw_cap_a - settings.draw_tolerance_a / 2:
            return replace(memory, draw_cap_a=None, draw_cap_since=None)
    return memory
