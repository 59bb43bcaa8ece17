"""Property tests: whatever the measurements say, the controller's limits respect the hard rules.

- never above the site cap (limits plus the house load without PV, per phase) or a circuit's limit;
- never below the minimum while charging, never above the charger's maximum;
- no phase-switch flapping: two switches of one charger are at least the lockout apart;
- the simulator conserves energy.
The cap is recomputed here from the snapshot independently of the controller's own helper.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelet_app.domain.surplus import (
    ChargerInput,
    Circuit,
    ControllerMemory,
    ControllerSettings,
    Mode,
    SessionPrefs,
    SiteConfig,
    SiteSnapshot,
    decide,
)
from pipelet_app.domain.surplus.simulation import Series, SimulationSettings, VirtualCar, simulate
from tests.unit.domain.surplus.helpers import T0, at, run

VOLT = 230.0
CIRCUITS = (Circuit("main", 40.0), Circuit("sub", 20.0, parent_id="main"))


@st.composite
def chargers(draw: st.DrawFn, index: int) -> ChargerInput:
    phases = draw(st.sampled_from([1, 3]))
    max_a = draw(st.floats(6.0, 32.0))
    return ChargerInput(
        f"cp{index}",
        connected=draw(st.booleans()),
        max_a=max_a,
        phases=phases,
        can_switch_phases=phases == 3 and draw(st.booleans()),
        circuit_id=draw(st.sampled_from([None, "main", "sub"])),
        phase=draw(st.integers(1, 3)),
        delivered_wh=draw(st.floats(0, 30000)),
        prefs=SessionPrefs(
            mode=draw(st.sampled_from([None, *Mode])),
            priority=draw(st.integers(0, 10)),
            energy_wh=draw(st.one_of(st.none(), st.floats(0, 60000))),
            departure_utc=draw(st.one_of(st.none(), st.integers(0, 12 * 3600).map(at))),
        ),
    )


@st.composite
def scenarios(draw: st.DrawFn):
    count = draw(st.integers(1, 4))
    fleet = tuple(draw(chargers(i)) for i in range(count))
    site = SiteConfig(
        grid_limit_a=draw(st.floats(10.0, 80.0)),
        mode=draw(st.sampled_from(list(Mode))),
        circuits=CIRCUITS if draw(st.booleans()) else (),
    )
    steps = draw(
        st.lists(
            st.tuples(
                st.integers(5, 120),  # seconds since the last call
                st.floats(-20000, 15000),  # grid W
                st.floats(0, 25000),  # PV W
                st.floats(-3000, 3000),  # battery W
                st.lists(st.floats(0, 35), min_size=count, max_size=count),  # measured A
                st.lists(st.booleans(), min_size=count, max_size=count),  # connected
            ),
            min_size=1,
            max_size=25,
        )
    )
    return site, fleet, steps


def house_a(snapshot: SiteSnapshot) -> float:
    ev_w = sum(c.measured_w for c in snapshot.chargers if c.connected and c.measured_w > 0)
    house_w = snapshot.grid_w - ev_w + (snapshot.pv_w or 0.0) + max(0.0, snapshot.battery_w)
    return max(0.0, house_w) / (VOLT * 3)


def phase_set(decision_phases: int, charger: ChargerInput) -> tuple[int, ...]:
    return (0, 1, 2) if decision_phases >= 2 else ((charger.phase - 1) % 3,)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_limits_respect_minimum_maximum_site_cap_circuits_and_lockout(scenario) -> None:
    site, fleet, steps = scenario
    config = ControllerSettings()
    memory = ControllerMemory()
    now = T0
    last_switch: dict[str, tuple] = {}
    last_phases: dict[str, int] = {}
    for seconds, grid_w, pv_w, battery_w, amps, connected in steps:
        now += timedelta(seconds=seconds)
        fleet = tuple(
            replace(
                c, connected=on, measured_a=a if on else 0.0, measured_w=(a * VOLT * c.phases) if on else 0.0
            )
            for c, a, on in zip(fleet, amps, connected, strict=True)
        )
        snapshot = SiteSnapshot(now, grid_w, fleet, pv_w=pv_w, battery_w=battery_w)
        result = decide(snapshot, site, memory, config)
        memory = result.memory
        headroom = max(0.0, site.grid_limit_a - house_a(snapshot))
        per_phase = [0.0, 0.0, 0.0]
        per_circuit: dict[str, list[float]] = {"main": [0.0] * 3, "sub": [0.0] * 3}
        by_id = {c.charger_id: c for c in fleet}
        for decision in result.chargers:
            charger = by_id[decision.charger_id]
            if decision.charging:
                assert charger.connected
                assert charger.min_a - 1e-9 <= decision.limit_a <= charger.max_a + 1e-9
                assert abs(decision.limit_w - decision.limit_a * VOLT * decision.phases) < 1e-6
                for phase in phase_set(decision.phases, charger):
                    per_phase[phase] += decision.limit_a
                    if charger.circuit_id == "sub":
                        per_circuit["sub"][phase] += decision.limit_a
                    if charger.circuit_id in ("sub", "main"):
                        per_circuit["main"][phase] += decision.limit_a
            else:
                assert decision.limit_a == 0.0 and decision.limit_w == 0.0
            if charger.can_switch_phases:
                previous = last_phases.get(charger.charger_id)
                if previous is not None and previous != decision.phases:
                    if charger.charger_id in last_switch:
                        gap = (now - last_switch[charger.charger_id]).total_seconds()
                        assert gap >= config.phase_lockout_s
                    last_switch[charger.charger_id] = now
                last_phases[charger.charger_id] = decision.phases
        for phase in range(3):
            assert per_phase[phase] <= headroom + 1e-6
            if site.circuits:
                assert per_circuit["main"][phase] <= 40.0 + 1e-6
                assert per_circuit["sub"][phase] <= 20.0 + 1e-6


@st.composite
def simulations(draw: st.DrawFn):
    hours = 3
    points = draw(st.lists(st.floats(0, 15000), min_size=4, max_size=40))
    times = tuple(i * hours * 3600 / (len(points) - 1) for i in range(len(points)))
    cars = []
    for index in range(draw(st.integers(1, 3))):
        arrive = draw(st.integers(0, 2 * 3600))
        phases = draw(st.sampled_from([1, 3]))
        cars.append(
            VirtualCar(
                f"car{index}",
                f"cp{index}",
                float(arrive),
                float(arrive + draw(st.integers(600, 3 * 3600))),
                draw(st.floats(500, 30000)),
                max_a=draw(st.floats(6, 32)),
                phases=phases,
                switch_phases=phases == 3 and draw(st.booleans()),
                car_max_a=draw(st.one_of(st.none(), st.floats(6, 32))),
                response_delay_s=draw(st.sampled_from([0.0, 5.0, 20.0])),
            )
        )
    return (
        Series(times, tuple(points)),
        Series.constant(draw(st.floats(0, 3000))),
        cars,
        SiteConfig(grid_limit_a=draw(st.floats(20, 100)), mode=draw(st.sampled_from(list(Mode)))),
        hours,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(simulations())
def test_simulation_conserves_energy_and_keeps_the_rules(case) -> None:
    pv, load, cars, site, hours = case
    result = simulate(
        pv, load, cars, site, 0.0, hours * 3600.0, sim=SimulationSettings(step_s=10, control_s=30)
    )
    tolerance = 1e-6 * max(1.0, result.pv_wh + result.load_wh + result.ev_wh)
    assert (
        abs(result.pv_wh + result.grid_import_wh - result.load_wh - result.ev_wh - result.grid_export_wh)
        <= tolerance
    )
    assert 0.0 <= result.ev_solar_wh <= result.ev_wh + tolerance
    assert result.ev_solar_wh <= max(0.0, result.pv_wh) + tolerance
    assert abs(sum(car.energy_wh for car in result.cars) - result.ev_wh) <= tolerance
    assert abs(sum(car.solar_wh for car in result.cars) - result.ev_solar_wh) <= tolerance
    assert len(result.cars) == len(cars)
    for car in result.cars:
        assert car.energy_wh <= car.wanted_wh + 1e-6
        assert car.phase_switches <= hours * 3600 / ControllerSettings().phase_lockout_s + 1
    assert result.below_minimum_decisions == 0
    assert result.cap_exceeded_s == 0.0
    summary = result.summary()
    assert abs(summary["ev_solar_wh"] + summary["ev_grid_wh"] - summary["ev_energy_wh"]) <= 0.2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 8000), min_size=2, max_size=60))
def test_no_profile_for_a_tiny_move_and_a_held_limit_stays_put(surplus_w) -> None:
    """The deadband: a raise of at least `min_step_a`, a cut of at least `min_cut_step_a`, or no move."""
    config = ControllerSettings()
    car = ChargerInput("cp1", connected=True, phases=1, max_a=32)
    site = SiteConfig(grid_limit_a=100)
    decisions = [d.chargers[0] for d in run(site, surplus_w, (car,), step_s=10, settings=config)]
    for before, after in pairwise(decisions):
        if not (before.charging and after.charging):
            continue
        move = abs(after.limit_a - before.limit_a)
        smallest = config.min_step_a if after.limit_a > before.limit_a else config.min_cut_step_a
        if after.changed:
            assert move >= smallest - 1e-9 or after.limit_a in (car.min_a, car.max_a)
        else:
            assert move == 0.0
