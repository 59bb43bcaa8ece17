"""What a car really draws (`tracking.track_draw`)."""

from __future__ import annotations

from dataclasses import replace

from pipelet_app.domain.surplus import ChargerInput, ControllerSettings
from pipelet_app.domain.surplus.model import ChargerMemory
from pipelet_app.domain.surplus.tracking import track_draw
from tests.unit.domain.surplus.helpers import at

SETTINGS = ControllerSettings()


def test_a_car_drawing_below_the_minimum_is_capped_at_it_once_and_freed_when_it_draws_again() -> None:
    """The cap never goes below the minimum; a car that keeps drawing below it keeps its first cap and its
    timestamp (restarting it every cycle made the memory change every cycle: a save per cycle)."""
    charger = ChargerInput("cp", connected=True, phases=1, measured_a=3.0)  # 3 A against a 16 A offer
    memory = ChargerMemory(charging=True, limit_a=16.0, limit_since=at(0))
    memory = track_draw(memory, charger, at(30), 230.0, SETTINGS)
    assert memory.draw_cap_a == charger.min_a and memory.draw_cap_since == at(30)
    memory = replace(memory, limit_a=charger.min_a)  # the controller offers the cap
    for seconds in range(40, 600, 10):
        assert track_draw(memory, charger, at(seconds), 230.0, SETTINGS) == memory
    drawing = replace(charger, measured_a=charger.min_a)  # the car takes what it is offered again
    assert track_draw(memory, drawing, at(600), 230.0, SETTINGS).draw_cap_a is None
