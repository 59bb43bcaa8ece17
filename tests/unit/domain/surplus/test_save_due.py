"""When the loop writes its memory (`saved.save_due`): before every send, on a change a successor acts
on (sent slots, the phase lockout, timers, bridged energy by a step), otherwise at most every minute."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from pipelet_app.domain.surplus import ChargerMemory, ControllerMemory
from pipelet_app.domain.surplus.actuation import Sent
from pipelet_app.domain.surplus.saved import BRIDGED_WH_STEP, SAVE_EVERY, LoopMemory, save_due
from tests.unit.domain.surplus.helpers import T0

SLOT = ("CP-1", 1, "tx")
CAR = ChargerMemory(charging=True, limit_a=6.0, phases=3, limit_since=T0, bridged_wh=5.0, deadband_as=2.0)


def loop(car: ChargerMemory = CAR, at=T0, pv: tuple = (), sent: Sent | None = None) -> LoopMemory:
    memory = ControllerMemory(time_utc=at, chargers={"c1": car}, pv_history=pv)
    return LoopMemory(memory, {SLOT: sent or Sent(6.0, "A", "7", "Accepted", 3)})


def later(seconds: float):
    return T0 + timedelta(seconds=seconds)


def test_a_cycle_that_sends_always_writes_first() -> None:
    assert save_due(loop(), T0, loop(), later(10), sending=True) == "sending"


def test_nothing_saved_yet_writes() -> None:
    assert save_due(None, None, loop(), T0) == "first"


def test_an_unchanged_memory_is_skipped_within_the_interval_and_written_after_it() -> None:
    last = loop()
    # the controller's clock, the PV history and the deadband sum move every cycle: not material
    moved = loop(
        replace(CAR, deadband_as=9.0, bridged_wh=5.0 + BRIDGED_WH_STEP / 2), later(50), pv=((1, 2, 3),)
    )
    for seconds in (10, 30, 59):
        assert save_due(last, T0, moved, later(seconds)) is None
    assert save_due(last, T0, moved, T0 + SAVE_EVERY) == "due"
    assert save_due(last, T0, moved, later(30), every=timedelta(seconds=20)) == "due"
    assert save_due(last, later(20), moved, later(10)) == "due"  # the clock went back: write


def test_a_phase_lockout_or_phases_change_writes_at_once() -> None:
    last = loop()
    switched = loop(replace(CAR, last_phase_switch=later(10), phases=1), later(10))
    assert save_due(last, T0, switched, later(10)) == "changed"
    assert save_due(last, T0, loop(replace(CAR, phase_want_since=later(10))), later(10)) == "changed"


def test_timers_limits_and_draw_caps_are_material() -> None:
    last = loop()
    for change in (
        {"not_drawing_since": later(10)},
        {"below_since": later(10)},
        {"dip_since": later(10)},
        {"draw_cap_a": 8.0},
        {"limit_a": 7.0},
        {"charging": False},
    ):
        assert save_due(last, T0, loop(replace(CAR, **change)), later(10)) == "changed", change


def test_bridged_energy_is_material_by_a_step() -> None:
    last = loop()
    assert save_due(last, T0, loop(replace(CAR, bridged_wh=5.0 + BRIDGED_WH_STEP)), later(10)) == "changed"


def test_a_slot_record_changed_or_forgotten_writes() -> None:
    last = loop()
    assert save_due(last, T0, loop(sent=Sent(6.0, "A", "7", "Rejected", 3)), later(10)) == "changed"
    forgotten = LoopMemory(last.memory, {})  # a charger booted: its slots are sent anew
    assert save_due(last, T0, forgotten, later(10)) == "changed"
    gone = LoopMemory(ControllerMemory(time_utc=T0), last.sent)  # a charger left the site
    assert save_due(last, T0, gone, later(10)) == "changed"


def test_the_lift_going_on_off_or_its_hold_starting_writes() -> None:
    """A successor that found an older lift state would drop a lift the hold still keeps (and lift again
    at the next sun), or hold one longer than `SURPLUS_NEWCOMER_HOLD_S`."""
    last = loop()
    lifted = replace(last, lifted=True)
    assert save_due(last, T0, lifted, later(10)) == "changed"
    assert save_due(lifted, T0, replace(lifted, lift_low_since=later(10)), later(10)) == "changed"
    assert save_due(lifted, T0, replace(last, lifted=True), later(10)) is None
