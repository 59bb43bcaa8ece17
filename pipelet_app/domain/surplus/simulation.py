"""Closed-loop simulation: virtual chargers and cars driven by a controller, with energy bookkeeping.

Shared by `pipelet simulate-surplus` and benchmarks/surplus, so both measure the same thing, and kept
pure (series and cars in, a result out) like the controller it drives.

The virtual world, stepped every `step_s`:
- PV and house load are read from their series by linear interpolation at the middle of the step.
- Every `control_s` the controller gets a snapshot built from the last step's meter readings (grid,
  PV, each charger's power and highest phase current, energy delivered) and answers per charger.
  A decision that differs from the last one sent to that charger (on/off, limit, phases) counts as
  one profile sent; the car follows it `response_delay_s` later.
- A car draws min(limit, its own maximum) on its phases while the limit is at least its minimum
  (6 A, IEC 61851), it is plugged in and still wants energy; below that it pauses. A car that can
  switch phases follows the charger's phase count, pausing `phase_switch_pause_s` for the switch.
  A car with `car_max_a` below what it is offered is the car that "takes less than offered".
- Grid = house + cars - PV (no home battery in the simulator). Solar into cars follows the solar-share
  rule: PV serves the house first, the rest goes to the cars pro rata to their power.
Counted: `starts` (a charger told to charge after it was paused or idle, the first start of each
session included) and `start_stop_cycles` (starts after the first in a session: each one follows a
stop while the car was still plugged in), phase switches (the phases a car charges on changing),
profiles (decisions differing from the last one sent to that charger), energy not delivered by
departure, and seconds in which the cars' draw plus the house exceeded the site connection.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipelet_app.domain.surplus.controller import decide
from pipelet_app.domain.surplus.model import (
    ChargerDecision,
    ChargerInput,
    ControllerMemory,
    ControllerSettings,
    Mode,
    PriceSeries,
    SessionPrefs,
    SiteConfig,
    SiteSnapshot,
)
from pipelet_app.domain.surplus.plan import price_at

Controller = Callable[[SiteSnapshot, Any], tuple[Sequence[ChargerDecision], Any]]


@dataclass(frozen=True)
class Series:
    """A time series (epoch seconds, ascending) read by linear interpolation, held flat at the ends."""

    times: tuple[float, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.times) != len(self.values) or not self.times:
            raise ValueError("a series needs as many values as times, at least one")

    @classmethod
    def constant(cls, value: float) -> Series:
        return cls((0.0,), (value,))

    def at(self, epoch_s: float) -> float:
        index = bisect_right(self.times, epoch_s)
        if index == 0:
            return self.values[0]
        if index == len(self.times):
            return self.values[-1]
        t0, t1 = self.times[index - 1], self.times[index]
        v0, v1 = self.values[index - 1], self.values[index]
        return v0 + (v1 - v0) * (epoch_s - t0) / (t1 - t0)


@dataclass(frozen=True)
class VirtualCar:
    """One arrival. `max_a` is what the charger may offer it; `car_max_a` what the car takes at most."""

    car_id: str
    charger_id: str
    arrive_s: float
    depart_s: float
    energy_wh: float
    max_a: float = 16.0
    phases: int = 3
    switch_phases: bool = False
    car_max_a: float | None = None
    min_a: float = 6.0
    response_delay_s: float = 10.0
    priority: int = 5
    mode: Mode | None = None


@dataclass(frozen=True)
class SimulationSettings:
    step_s: float = 10.0
    control_s: float = 30.0
    phase_switch_pause_s: float = 30.0


@dataclass
class CarResult:
    car_id: str
    charger_id: str
    wanted_wh: float
    energy_wh: float = 0.0
    solar_wh: float = 0.0
    starts: int = 0
    phase_switches: int = 0

    @property
    def unmet_wh(self) -> float:
        return max(0.0, self.wanted_wh - self.energy_wh)


@dataclass
class SimulationResult:
    """Totals in Wh and counts; `summary()` is the CLI's JSON."""

    pv_wh: float = 0.0
    load_wh: float = 0.0
    ev_wh: float = 0.0
    ev_solar_wh: float = 0.0
    grid_import_wh: float = 0.0
    grid_export_wh: float = 0.0
    profiles_sent: int = 0
    control_cycles: int = 0
    cap_exceeded_s: float = 0.0
    below_minimum_decisions: int = 0
    ev_grid_cost: float | None = None  # grid energy into the cars at the price series' prices
    cars: list[CarResult] = field(default_factory=list)
    ev_w_trace: list[float] = field(default_factory=list)

    @property
    def ev_grid_wh(self) -> float:
        return self.ev_wh - self.ev_solar_wh

    def summary(self) -> dict[str, Any]:
        share = self.ev_solar_wh / self.ev_wh if self.ev_wh > 0 else 0.0
        return {
            "ev_energy_wh": round(self.ev_wh, 1),
            "ev_solar_wh": round(self.ev_solar_wh, 1),
            "ev_grid_wh": round(self.ev_grid_wh, 1),
            "solar_share": round(share, 4),
            "profiles_sent": self.profiles_sent,
            "start_stop_cycles": sum(max(0, car.starts - 1) for car in self.cars),
            "starts": sum(car.starts for car in self.cars),
            "phase_switches": sum(car.phase_switches for car in self.cars),
            "unmet_energy_wh": round(sum(car.unmet_wh for car in self.cars), 1),
            "pv_wh": round(self.pv_wh, 1),
            "load_wh": round(self.load_wh, 1),
            "grid_import_wh": round(self.grid_import_wh, 1),
            "grid_export_wh": round(self.grid_export_wh, 1),
            "control_cycles": self.control_cycles,
            "site_cap_exceeded_s": round(self.cap_exceeded_s, 1),
            "ev_grid_cost": None if self.ev_grid_cost is None else round(self.ev_grid_cost, 4),
            "cars": [
                {
                    "car_id": car.car_id,
                    "charger_id": car.charger_id,
                    "wanted_wh": round(car.wanted_wh, 1),
                    "energy_wh": round(car.energy_wh, 1),
                    "solar_wh": round(car.solar_wh, 1),
                    "unmet_wh": round(car.unmet_wh, 1),
                    "start_stop_cycles": max(0, car.starts - 1),
                    "phase_switches": car.phase_switches,
                }
                for car in self.cars
            ],
        }


def surplus_controller(site: SiteConfig, settings: ControllerSettings | None = None) -> Controller:
    """Pipelet's controller in the simulator's calling convention."""

    def run(snapshot: SiteSnapshot, memory: ControllerMemory | None) -> tuple[Sequence[ChargerDecision], Any]:
        result = decide(snapshot, site, memory, settings or ControllerSettings())
        return result.chargers, result.memory

    return run


@dataclass
class _Charger:
    charger_id: str
    commanded: tuple[bool, float, int] = (False, 0.0, 3)  # last sent: on, amps, phases
    applied: tuple[bool, float, int] = (False, 0.0, 3)
    pending: list[tuple[float, tuple[bool, float, int]]] = field(default_factory=list)
    paused_until: float = -math.inf
    phases_now: int = 3
    car: VirtualCar | None = None
    result: CarResult | None = None
    delivered_wh: float = 0.0
    power_w: float = 0.0
    current_a: float = 0.0


def _car_phases(car: VirtualCar, applied_phases: int) -> int:
    if car.phases == 1:
        return 1
    return applied_phases if car.switch_phases else 3


def _draw(charger: _Charger, car: VirtualCar, now_s: float, voltage: float) -> tuple[float, float]:
    on, amps, phases = charger.applied
    if not on or now_s < charger.paused_until or amps < car.min_a:
        return 0.0, 0.0
    current = min(amps, car.max_a, car.car_max_a if car.car_max_a is not None else math.inf)
    if current < car.min_a:
        return 0.0, 0.0
    return current, current * voltage * _car_phases(car, phases)


def simulate(
    pv: Series,
    load: Series,
    cars: Sequence[VirtualCar],
    site: SiteConfig,
    start_s: float,
    end_s: float,
    controller: Controller | None = None,
    sim: SimulationSettings | None = None,
    prices: PriceSeries | None = None,
) -> SimulationResult:
    """Run the closed loop from `start_s` to `end_s` (see the module docstring)."""
    sim = sim or SimulationSettings()
    controller = controller or surplus_controller(site)
    voltage = site.voltage_v
    chargers: dict[str, _Charger] = {}
    for car in sorted(cars, key=lambda car: car.arrive_s):
        chargers.setdefault(car.charger_id, _Charger(car.charger_id))
    result = SimulationResult(ev_grid_cost=0.0 if prices is not None else None)
    memory: Any = None
    step = sim.step_s
    control_every = max(1, round(sim.control_s / step))
    queue = sorted(cars, key=lambda car: car.arrive_s)
    pv_now = max(0.0, pv.at(start_s))
    grid_w = max(0.0, load.at(start_s)) - pv_now  # the meters' first reading: house and PV, no car yet
    steps = max(0, math.ceil((end_s - start_s) / step))
    for index in range(steps):
        now_s = start_s + index * step
        # arrivals and departures
        for charger in chargers.values():
            if charger.car is not None and now_s >= charger.car.depart_s:
                result.cars.append(charger.result)  # type: ignore[arg-type]
                charger.car, charger.result, charger.delivered_wh = None, None, 0.0
                charger.power_w = charger.current_a = 0.0
        while queue and queue[0].arrive_s <= now_s:
            car = queue.pop(0)
            charger = chargers[car.charger_id]
            if car.depart_s <= now_s:
                result.cars.append(CarResult(car.car_id, car.charger_id, car.energy_wh))
                continue
            charger.car, charger.result, charger.delivered_wh = (
                car,
                CarResult(car.car_id, car.charger_id, car.energy_wh),
                0.0,
            )
            charger.phases_now = _car_phases(car, charger.applied[2])
        # control
        if index % control_every == 0:
            snapshot = SiteSnapshot(
                time_utc=datetime.fromtimestamp(now_s, UTC),
                grid_w=grid_w,
                pv_w=pv_now,
                chargers=tuple(_input(charger) for charger in chargers.values()),
                prices=prices,
            )
            decisions, memory = controller(snapshot, memory)
            result.control_cycles += 1
            for decision in decisions:
                _command(chargers[decision.charger_id], decision, now_s, result)
        # actuation and physics
        ev_w = 0.0
        for charger in chargers.values():
            while charger.pending and charger.pending[0][0] <= now_s:
                _, command = charger.pending.pop(0)
                car = charger.car
                if (
                    car is not None
                    and car.switch_phases
                    and car.phases == 3
                    and command[2] != charger.applied[2]
                ):
                    charger.paused_until = now_s + sim.phase_switch_pause_s
                    if charger.result is not None:
                        charger.result.phase_switches += 1
                charger.applied = command
            car = charger.car
            if car is None:
                continue
            current, power = _draw(charger, car, now_s, voltage)
            remaining = car.energy_wh - charger.delivered_wh
            energy = min(power * step / 3600.0, max(0.0, remaining))
            charger.power_w = energy * 3600.0 / step
            charger.current_a = current if energy > 0 else 0.0
            charger.phases_now = _car_phases(car, charger.applied[2])
            charger.delivered_wh += energy
            ev_w += charger.power_w
        middle = now_s + step / 2
        pv_w = max(0.0, pv.at(middle))
        load_w = max(0.0, load.at(middle))
        grid_w = load_w + ev_w - pv_w
        solar_for_cars = min(ev_w, max(0.0, pv_w - load_w))
        hours = step / 3600.0
        result.pv_wh += pv_w * hours
        result.load_wh += load_w * hours
        result.ev_wh += ev_w * hours
        result.ev_solar_wh += solar_for_cars * hours
        if result.ev_grid_cost is not None and ev_w > solar_for_cars:
            price = price_at(prices, middle)
            if math.isfinite(price):
                result.ev_grid_cost += (ev_w - solar_for_cars) * hours / 1000.0 * price
        result.grid_import_wh += max(0.0, grid_w) * hours
        result.grid_export_wh += max(0.0, -grid_w) * hours
        result.ev_w_trace.append(ev_w)
        for charger in chargers.values():
            if charger.result is not None and charger.power_w > 0:
                charger.result.energy_wh += charger.power_w * hours
                charger.result.solar_wh += solar_for_cars * charger.power_w / ev_w * hours
        if _over_cap(chargers, load_w, site):
            result.cap_exceeded_s += step
        pv_now = pv_w
    for charger in chargers.values():
        if charger.result is not None:
            result.cars.append(charger.result)
    result.cars.extend(CarResult(car.car_id, car.charger_id, car.energy_wh) for car in queue)
    return result


def _input(charger: _Charger) -> ChargerInput:
    car = charger.car
    if car is None:
        return ChargerInput(charger.charger_id, connected=False, phases=charger.applied[2])
    return ChargerInput(
        charger.charger_id,
        connected=True,
        max_a=car.max_a,
        min_a=car.min_a,
        phases=charger.phases_now,
        can_switch_phases=car.switch_phases and car.phases == 3,
        measured_w=charger.power_w,
        measured_a=charger.current_a,
        delivered_wh=charger.delivered_wh,
        prefs=SessionPrefs(
            mode=car.mode,
            departure_utc=datetime.fromtimestamp(car.depart_s, UTC),
            energy_wh=car.energy_wh,
            priority=car.priority,
        ),
    )


def _command(charger: _Charger, decision: ChargerDecision, now_s: float, result: SimulationResult) -> None:
    if decision.charging and 0 < decision.limit_a < (charger.car.min_a if charger.car else 6.0) - 1e-9:
        result.below_minimum_decisions += 1
    command = (decision.charging, round(decision.limit_a, 3) if decision.charging else 0.0, decision.phases)
    if command == charger.commanded or (not command[0] and not charger.commanded[0]):
        return
    result.profiles_sent += 1
    if command[0] and not charger.commanded[0] and charger.result is not None:
        charger.result.starts += 1
    charger.commanded = command
    delay = charger.car.response_delay_s if charger.car is not None else 0.0
    charger.pending.append((now_s + delay, command))


def _over_cap(chargers: dict[str, _Charger], load_w: float, site: SiteConfig) -> bool:
    """Would the cars' draw plus the house (without PV) exceed the connection on some phase?"""
    voltage = site.voltage_v
    per_phase = [load_w / (voltage * 3)] * 3 if site.phases >= 2 else [load_w / voltage, 0.0, 0.0]
    for charger in chargers.values():
        if charger.power_w <= 0:
            continue
        phases = charger.phases_now
        for phase in range(phases if phases >= 2 else 1):
            per_phase[phase] += charger.current_a
    return max(per_phase) > site.grid_limit_a + 1e-6


__all__ = [
    "CarResult",
    "Controller",
    "Series",
    "SimulationResult",
    "SimulationSettings",
    "VirtualCar",
    "simulate",
    "surplus_controller",
]
