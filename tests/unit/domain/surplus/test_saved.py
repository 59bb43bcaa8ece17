"""The loop memory as JSON (`domain/surplus/saved.py`): what is restored equals what was saved, a
controller restored mid-day decides as one that never stopped (the simulator with a restart, through the
JSON text a database holds), the phase lockout survives a restart, and stale or foreign memory is
discarded instead of crashing the loop.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import UTC, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelet_app.domain.surplus import (
    ChargerDecision,
    ChargerInput,
    ChargerMemory,
    ControllerMemory,
    ControllerSettings,
    Mode,
    SiteConfig,
    decide,
)
from pipelet_app.domain.surplus.actuation import Sent
from pipelet_app.domain.surplus.saved import (
    CHARGER_FIELDS,
    CONTROLLER_FIELDS,
    FORMAT_VERSION,
    MAX_AGE,
    SCALARS,
    LoopMemory,
    decode,
    encode,
    restore,
)
from pipelet_app.domain.surplus.simulation import (
    Series,
    SimulationSettings,
    VirtualCar,
    simulate,
    surplus_controller,
)
from tests.unit.domain.surplus.helpers import T0, at, follow, snapshot
from tests.unit.domain.surplus.test_properties import simulations

times = st.datetimes(timezones=st.just(UTC))
numbers = st.floats(allow_nan=False)  # infinities included: written as strings
KIND = {
    "bool": st.booleans(),
    "float": numbers,
    "int": st.integers(-5, 5),
    "str": st.text(max_size=8),
    "datetime": times,
}


def test_every_field_of_the_memory_is_saved() -> None:
    """A field added to the controller's memory must be taught to saved.py (and FORMAT_VERSION bumped if
    an old memory would mean something else): the restart tests below only see fields saved."""
    assert tuple(f.name for f in fields(ControllerMemory)) == CONTROLLER_FIELDS
    for name, (kind, _) in CHARGER_FIELDS.items():
        assert kind in SCALARS, f"ChargerMemory.{name}: {kind} has no codec in domain/surplus/saved.py"


@st.composite
def charger_memories(draw: st.DrawFn) -> ChargerMemory:
    values: dict[str, Any] = {}
    for f in fields(ChargerMemory):
        annotation = str(f.type)
        strategy = KIND[annotation.removesuffix(" | None")]
        values[f.name] = draw(st.none() | strategy if annotation.endswith("| None") else strategy)
    return ChargerMemory(**values)


loop_memories = st.builds(
    LoopMemory,
    memory=st.builds(
        ControllerMemory,
        time_utc=st.none() | times,
        chargers=st.dictionaries(st.text(max_size=12), charger_memories(), max_size=4),
        pv_history=st.lists(st.tuples(numbers, numbers, numbers), max_size=30).map(tuple),
    ),
    sent=st.dictionaries(
        st.tuples(st.text(max_size=8), st.integers(0, 8), st.sampled_from(["tx/idle", "base", "max"])),
        st.builds(
            Sent,
            numbers,
            st.sampled_from(["A", "W"]),
            st.none() | st.text(max_size=8),
            st.text(max_size=20),
            st.sampled_from([None, 1, 3]),
        ),
        max_size=4,
    ),
    lifted=st.booleans(),
    lift_low_since=st.none() | times,
)


def through_json(data: dict[str, Any]) -> Any:
    """What a database's JSON column hands back (strict JSON: no NaN/Infinity tokens)."""
    return json.loads(json.dumps(data, allow_nan=False))


@settings(max_examples=300)
@given(loop_memories, times)
def test_memory_restored_equals_memory_saved(loop: LoopMemory, saved_at) -> None:
    restored, when = decode(through_json(encode(loop, saved_at)))
    assert restored == loop
    assert when == saved_at
    again = restore(through_json(encode(loop, saved_at)), saved_at + MAX_AGE)
    assert again.how == "restored" and again.loop == loop


def test_a_memory_saved_before_previous_limit_was_kept_is_read_with_its_default() -> None:
    """`previous_limit_a` came later: a memory without it is restored (0: no raise to read a register
    average by), not discarded with its timers and lockout."""
    memory = ControllerMemory(T0, {"cp1": ChargerMemory(charging=True, limit_a=8.0, previous_limit_a=6.0)})
    data = through_json(encode(LoopMemory(memory), T0))
    saved = {k: v for k, v in data["chargers"]["cp1"].items() if k != "previous_limit_a"}
    older = {**data, "chargers": {"cp1": saved}}
    restored = restore(older, T0)
    assert restored.how == "restored"
    assert restored.loop.memory.chargers["cp1"] == ChargerMemory(charging=True, limit_a=8.0)


def test_another_version_or_shape_is_discarded_not_half_read() -> None:
    memory = ControllerMemory(T0, {"cp1": ChargerMemory(charging=True, limit_a=8.0)})
    data = through_json(encode(LoopMemory(memory), T0))
    assert restore(data, T0).how == "restored"
    for broken in (
        {**data, "v": FORMAT_VERSION + 1},
        {**data, "v": 0},
        {**data, "extra": 1},
        {k: v for k, v in data.items() if k != "sent"},
        {**data, "chargers": {"cp1": {**data["chargers"]["cp1"], "new_field": 1}}},  # a field added since
        {**data, "chargers": {"cp1": {**data["chargers"]["cp1"], "limit_a": "eight"}}},
        {**data, "chargers": {"cp1": {**data["chargers"]["cp1"], "limit_since": "2024-06-01T10:00:00"}}},
        {**data, "pv_history": [[1.0, 2.0]]},
        {**data, "sent": [["CP", "1", "max", 1.0, "A", None, "Accepted"]]},
        {**data, "sent": [["CP", 1, "tx/idle", 1.0, "A", None, "Accepted", 2]]},  # no such phase count
        {**data, "lift": True},
        {**data, "lift": [1, None]},
        {**data, "lift": [True, "yesterday"]},
        [],
        "garbage",
    ):
        restored = restore(broken, T0)
        assert restored.how == "unreadable", broken
        assert restored.loop == LoopMemory()
    assert restore(None, T0).how == "none"


def test_a_sent_profile_saved_before_number_phases_reads_as_none() -> None:
    """Memories saved before profiles carried numberPhases (7 fields) stay readable: none was sent."""
    data = through_json(encode(LoopMemory(), T0))
    data["sent"] = [["CP", 1, "tx/idle", 7.0, "A", "42", "Accepted"]]
    loop, _ = decode(data)
    assert loop.sent == {("CP", 1, "tx/idle"): Sent(7.0, "A", "42", "Accepted", None)}


def test_the_time_a_profile_was_sent_survives_the_json_and_older_rows_read_as_unknown() -> None:
    """A successor renews a TxProfile when its schedule runs out, so it needs the time it was sent; a row
    saved before (8 fields) reads as unknown, and such a TxProfile (sent without a duration) is renewed."""
    sent = {("CP", 1, "tx/idle"): Sent(7.0, "A", "42", "Accepted", 3, T0 - timedelta(seconds=40))}
    loop, _ = decode(through_json(encode(LoopMemory(ControllerMemory(), sent), T0)))
    assert loop.sent == sent
    data = through_json(encode(LoopMemory(), T0))
    data["sent"] = [["CP", 1, "tx/idle", 7.0, "A", "42", "Accepted", 3]]
    assert decode(data)[0].sent == {("CP", 1, "tx/idle"): Sent(7.0, "A", "42", "Accepted", 3, None)}
    data["sent"] = [["CP", 1, "tx/idle", 7.0, "A", "42", "Accepted", 3, "yesterday"]]
    assert restore(data, T0).how == "unreadable"


def test_the_lift_state_survives_the_json_and_older_memories_read_unlifted() -> None:
    """A successor keeps a lift the hold still holds (and its hold clock) instead of dropping it and
    lifting again at the next sun; a memory saved before the lift state was reads as unlifted."""
    loop = LoopMemory(lifted=True, lift_low_since=T0 - timedelta(seconds=50))
    restored = restore(through_json(encode(loop, T0)), T0 + timedelta(seconds=30))
    assert restored.how == "restored"
    assert (restored.loop.lifted, restored.loop.lift_low_since) == (True, T0 - timedelta(seconds=50))
    data = through_json(encode(LoopMemory(), T0))
    del data["lift"]
    assert restore(data, T0).how == "restored" and not restore(data, T0).loop.lifted
    # a stale memory keeps no lift: nobody saw the sun in between
    assert not restore(through_json(encode(loop, T0)), T0 + MAX_AGE + timedelta(seconds=1)).loop.lifted


def test_a_stale_memory_keeps_only_the_phase_lockout() -> None:
    switched = ChargerMemory(charging=True, limit_a=7.0, phases=1, last_phase_switch=T0, bridged_wh=40.0)
    plain = ChargerMemory(charging=True, limit_a=9.0, above_since=T0)
    memory = ControllerMemory(T0, {"a": switched, "b": plain}, ((T0.timestamp(), 3000.0, 500.0),))
    sent = {("CP", 1, "tx/idle"): Sent(7.0, "A", "42", "Accepted")}
    data = through_json(encode(LoopMemory(memory, sent), T0))
    restored = restore(data, T0 + MAX_AGE + timedelta(seconds=1))
    assert restored.how == "stale"
    assert restored.loop == LoopMemory(
        ControllerMemory(chargers={"a": ChargerMemory(phases=1, last_phase_switch=T0)})
    )


def _run(
    site: SiteConfig, surplus_w: list[float], chargers: tuple[ChargerInput, ...], restart: int, carry
) -> list[ChargerDecision]:
    """helpers.run with the memory replaced by `carry(memory, now)` before cycle `restart`."""
    memory = ControllerMemory()
    out = []
    for index, surplus in enumerate(surplus_w):
        now = at(index * 30.0)
        if index == restart:
            memory = carry(memory, now)
        ev_w = sum(c.measured_w for c in chargers if c.connected)
        result = decide(snapshot(index * 30.0, ev_w - surplus, *chargers), site, memory)
        out.append(result.chargers[0])
        memory = result.memory
        chargers = follow(chargers, result, site.voltage_v)
    return out


def _saved_and_restored(gap: timedelta):
    def carry(memory: ControllerMemory, now) -> ControllerMemory:
        data = through_json(encode(LoopMemory(memory), now - gap))
        return restore(data, now).loop.memory

    return carry


def test_the_phase_lockout_holds_across_a_restart() -> None:
    """Switched down to one phase, then the sun comes back: up again only after the lockout, whoever owns
    the loop. A new owner that started blank switches up inside the lockout (what this memory prevents)."""
    car = ChargerInput("home", connected=True, phases=3, max_a=16, can_switch_phases=True)
    site = SiteConfig(grid_limit_a=63, mode=Mode.PV_ONLY)
    lockout = ControllerSettings().phase_lockout_s
    surplus = [8000.0] * 4 + [2500.0] * 6 + [8000.0] * 30
    never_stopped = _run(site, surplus, (car,), -1, None)
    phases = [d.phases for d in never_stopped]
    switched = phases.index(1)
    restart = switched + 1  # the owner dies right after the switch
    assert restart < 10

    def up_again(decisions: list[ChargerDecision]) -> int:
        return next(i for i in range(switched, len(decisions)) if decisions[i].phases == 3)

    for gap in (timedelta(0), timedelta(seconds=90), MAX_AGE + timedelta(seconds=30)):
        restarted = _run(site, surplus, (car,), restart, _saved_and_restored(gap))
        assert (up_again(restarted) - switched) * 30.0 >= lockout, gap
    assert [
        d.phases for d in _run(site, surplus, (car,), restart, _saved_and_restored(timedelta(0)))
    ] == phases

    def blank(memory: ControllerMemory, now) -> ControllerMemory:
        return ControllerMemory()

    blank_start = _run(site, surplus, (replace(car, phases=1),), restart, blank)
    assert (up_again(blank_start) - switched) * 30.0 < lockout


def _restarting(site: SiteConfig, restart_cycle: int, trace: list[tuple]):
    """The simulator's controller, saved to JSON and restored (a new owner) before `restart_cycle`."""
    run = surplus_controller(site)
    cycle = 0

    def controller(snapshot, memory):
        nonlocal cycle
        if cycle == restart_cycle and memory is not None:
            restored = restore(through_json(encode(LoopMemory(memory), snapshot.time_utc)), snapshot.time_utc)
            assert restored.how == "restored"
            memory = restored.loop.memory
        cycle += 1
        decisions, memory = run(snapshot, memory)
        trace.append((snapshot.time_utc, tuple(decisions)))
        return decisions, memory

    return controller


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(simulations(), st.integers(1, 359))
def test_a_controller_restored_mid_day_decides_as_one_that_never_stopped(case, restart_cycle) -> None:
    pv, load, cars, site, hours = case
    sim = SimulationSettings(step_s=10, control_s=30)
    straight: list[tuple] = []
    restarted: list[tuple] = []
    first = simulate(pv, load, cars, site, 0.0, hours * 3600.0, _restarting(site, -1, straight), sim)
    second = simulate(
        pv, load, cars, site, 0.0, hours * 3600.0, _restarting(site, restart_cycle, restarted), sim
    )
    assert restarted == straight
    assert second.summary() == first.summary()


def test_a_sunny_day_with_a_phase_switching_car_restarted_every_cycle() -> None:
    """Every cycle a new owner: the same decisions, profiles and phase switches as one owner all day."""
    day = 6 * 3600.0
    times = tuple(float(t) for t in range(0, int(day) + 1, 600))
    # a clear morning with passing clouds: the switching car goes up and down
    pv = Series(
        times, tuple(max(0.0, 7000.0 - abs(t - day / 2) * 2.2 - (2500.0 if t % 1800 else 0.0)) for t in times)
    )
    load = Series.constant(400.0)
    cars = [
        VirtualCar("a", "cp1", 0.0, day, 30000.0, switch_phases=True),
        VirtualCar("b", "cp2", 1800.0, day - 1800.0, 8000.0, phases=1, car_max_a=10.0),
    ]
    site = SiteConfig(grid_limit_a=40.0, mode=Mode.PV_ONLY)

    def every_cycle(trace: list[tuple], carry: bool):
        run = surplus_controller(site)

        def controller(snapshot, memory):
            if carry and memory is not None:
                saved = through_json(encode(LoopMemory(memory), snapshot.time_utc))
                memory = restore(saved, snapshot.time_utc).loop.memory
            decisions, memory = run(snapshot, memory)
            trace.append(tuple(decisions))
            return decisions, memory

        return controller

    straight: list[tuple] = []
    restarted: list[tuple] = []
    first = simulate(pv, load, cars, site, 0.0, day, every_cycle(straight, False))
    second = simulate(pv, load, cars, site, 0.0, day, every_cycle(restarted, True))
    assert restarted == straight
    assert second.summary() == first.summary()
    assert first.summary()["phase_switches"] >= 1  # the day exercises the lockout
