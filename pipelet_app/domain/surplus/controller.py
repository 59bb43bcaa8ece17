"""The PV-surplus controller: `decide(snapshot, site, memory)` -> a limit per charger and why.

One call per control cycle (10-30 s). What happens, in order:

1. Surplus for the cars: what the cars draw now plus what goes to the grid, minus battery discharge
   (a home battery is never drained into a car), minus what the home battery charges while it has
   priority (below `battery_priority_soc`), minus a small export margin.
2. Memory: a car that left resets its charger's session memory (the phase lockout stays with the
   charger); what each car really draws updates its draw cap (`tracking`); the PV sample feeds the
   forecast (`forecast`).
3. Per car: mode (session preference over the site's), energy still needed, and a grid-backed floor:
   none in PV-only; the minimum plus whatever the departure plan needs in PV-priority; the departure
   plan over the price series in Eco-plus (`plan`).
4. Phases for chargers that can switch (`phases`), from the power the car could have now.
5. Who charges (`share.pick`, cars ranked by priority, then least laxity) with hysteresis: a car that
   is off does not take a running car's place for no more sun unless it is hungry (`_no_swap`); a car
   the surplus can carry starts after `enable_delay_s`; a charging car others can replace keeps its
   minimum for `handover_s` (`handover_spare_s` where the forecast sun exceeds what the cars want,
   `_sun_spare`; as long as it likes while `_hungry`); a car whose minimum the surplus no
   longer covers bridges the dip for at most `disable_delay_s` (alone) or `bridge_shared_s` (other
   cars on) and only while the grid energy spent so stays within `bridge_grid_share` of its session
   energy (plus `bridge_allowance_wh`; with other cars on, the present cars' pool); then it pauses,
   unless it is hungry and the forecast expects the sun back within the hour (`_rides_shortfall`).
   A car alone (no other car on) also runs at its minimum, from the grid's top-up, while the
   recent surplus covers `cover_start` of that minimum (to start) or `cover_stop` (to keep going), within
   `cover_grid_share` of the energy it is expected to get today: a dim hour at 80 % of a single-phase
   minimum is sun a paused car loses, bought with a fifth of its energy from the grid; not for a car
   that wants no more than its share of the forecast sun (`_sun_short`): that one fills up anyway.
6. How much (`share.distribute`), plus the PV's latest slope projected `ramp_lead_s` ahead, rounded
   down to 0.1 A, a deadband against the last limit (`min_change_a` down, `min_raise_a` up; small moves
   are sent once their size x duration adds up to `deadband_as`, `_deadband`; a held raise up to the
   car's maximum even if smaller than `min_step_a`), and last
   the site and circuit caps (`limits`), which may only lower limits or pause, holding raises back a
   cycle where a cut elsewhere has yet to take effect. Under a calm sky (PV on the clear-sky curve for
   10 min, `forecast.calm_sky`) small raises wait for `calm_step_a` and held cuts go
   `calm_cut_headroom_a` below the target: a clear day's slow ramps then cost a profile per ampere
   (and the last tenths up to a car's maximum wait for a whole step too).

Invariants (property-tested): no charging limit below a charger's minimum; the limits plus the house
load fit the site's connection and every circuit on every phase; two phase switches of one charger are
at least `phase_lockout_s` apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from pipelet_app.domain.surplus.forecast import PvForecast, calm_sky, forecast, remember, surplus_spread
from pipelet_app.domain.surplus.limits import Load, enforce, hold_increases
from pipelet_app.domain.surplus.model import (
    ChargerDecision,
    ChargerInput,
    ChargerMemory,
    ControllerMemory,
    ControllerSettings,
    Mode,
    SiteConfig,
    SiteDecision,
    SiteSnapshot,
)
from pipelet_app.domain.surplus.phases import choose_phases
from pipelet_app.domain.surplus.plan import plan_departure
from pipelet_app.domain.surplus.share import Slot, distribute, pick
from pipelet_app.domain.surplus.tracking import NOT_DRAWING_A, track_draw

DEFAULT_SETTINGS = ControllerSettings()
NOT_DRAWING_GRACE_S = 60.0
MAX_DT_S = 60.0
RANK_STICKINESS_S = 5400.0
COVER_FREE = 0.9
FLEET_STEP_S = 600.0


@dataclass
class _Car:
    """Working state for one connected charger during a cycle."""

    charger: ChargerInput
    memory: ChargerMemory
    mode: Mode
    need_wh: float  # math.inf when unknown
    phases: int
    max_a: float
    floor_w: float = 0.0
    floor_reason: str = ""
    phase_reason: str | None = None
    idle: bool = False
    on: bool = False
    bridging: bool = False
    covering: bool = False  # bridging because the surplus covers most of the minimum (lone car)
    handing_over: bool = False
    waiting_s: float | None = None
    power_w: float = 0.0
    _sun_ahead_wh: float | None = None

    def sun_ahead_wh(self, fc: PvForecast | None, now_s: float) -> float | None:
        """Forecast surplus energy from now until the car leaves (None: no forecast or no departure).

        The forecast integral behind the departure plan, the covered-minimum budget and the hungry
        test: computed once per car and cycle, on first use, and shared by all three.
        """
        departure = self.charger.prefs.departure_utc
        if fc is None or departure is None:
            return None
        if self._sun_ahead_wh is None:
            self._sun_ahead_wh = fc.surplus_energy_wh(now_s, departure.timestamp())
        return self._sun_ahead_wh

    def min_w(self, voltage_v: float, phases: int | None = None) -> float:
        return self.charger.min_a * voltage_v * (phases or self.phases)

    def max_w(self, voltage_v: float, phases: int | None = None) -> float:
        return self.max_a * voltage_v * (phases or self.phases)


def _floor_to(value: float, step: float) -> float:
    return round(math.floor(value / step + 1e-9) * step, 6)


def _rank(car: _Car, now_s: float, voltage_v: float) -> tuple:
    """Priority first, then least laxity, then earliest departure.

    Laxity = time left before departure minus the time the car needs at its own full power. A slow car
    (single phase, or one that takes less than offered) needs many hours, so it is served first while
    few cars compete; fast cars keep room to soak up the midday peak later. Cars without a departure
    or energy wish come last. The benchmark compared this with earliest-departure-first.
    """
    prefs = car.charger.prefs
    departure = math.inf if prefs.departure_utc is None else prefs.departure_utc.timestamp()
    laxity = math.inf
    if math.isfinite(departure) and math.isfinite(car.need_wh):
        phases = 3 if car.charger.can_switch_phases else car.phases
        full_power_w = max(car.max_a * voltage_v * phases, 1.0)
        laxity = departure - now_s - car.need_wh * 3600.0 / full_power_w
        if car.memory.charging:
            laxity -= RANK_STICKINESS_S  # no trading places among cars of similar laxity (1.5 h: measured)
    return (prefs.priority, laxity, departure, car.charger.charger_id)


def available_for_cars(snapshot: SiteSnapshot, site: SiteConfig, settings: ControllerSettings) -> float:
    """Surplus the cars may use now (see step 1 of the module docstring)."""
    ev_w = sum(max(0.0, charger.measured_w) for charger in snapshot.chargers if charger.connected)
    discharge = max(0.0, snapshot.battery_w)
    charge = max(0.0, -snapshot.battery_w)
    soc = snapshot.battery_soc
    battery_first = site.battery_priority and (soc is None or soc < site.battery_priority_soc)
    return ev_w - snapshot.grid_w - discharge + (0.0 if battery_first else charge) - settings.margin_w


def house_currents(snapshot: SiteSnapshot, site: SiteConfig) -> tuple[float, float, float]:
    """Per-phase house current without cars and without PV (the site cap must hold if PV drops)."""
    voltage = site.voltage_v
    pv_w = max(0.0, snapshot.pv_w or 0.0)
    ev_a = [0.0, 0.0, 0.0]
    ev_w = 0.0
    for charger in snapshot.chargers:
        if not charger.connected or charger.measured_w <= 0:
            continue
        ev_w += charger.measured_w
        phases = (0, 1, 2) if charger.phases >= 2 else ((charger.phase - 1) % 3,)
        for phase in phases:
            ev_a[phase] += charger.measured_w / (voltage * len(phases))
    spread = 3 if site.phases >= 2 else 1
    if snapshot.grid_a is not None:
        return tuple(  # type: ignore[return-value]
            max(0.0, snapshot.grid_a[p] - ev_a[p] + pv_w / (voltage * spread)) for p in range(3)
        )
    house_w = max(0.0, snapshot.grid_w - ev_w + pv_w + max(0.0, snapshot.battery_w))
    return (house_w / (voltage * spread),) * 3 if spread == 3 else (house_w / voltage, 0.0, 0.0)


def _ramp_w(history: Sequence[tuple[float, float, float]], settings: ControllerSettings) -> float:
    """Where PV is heading by the time the cars follow: its latest slope times `ramp_lead_s`.

    A feedback loop alone trails a passing cloud's edge by a control period plus the car's response
    time; projecting the latest slope that far ahead removes most of that lag. A rise is trusted up to
    `ramp_max_w`, a fall fully (better a little export than import).
    """
    if len(history) < 2 or settings.ramp_lead_s <= 0:
        return 0.0
    (t0, pv0, _), (t1, pv1, _) = history[-2], history[-1]
    if not 0 < t1 - t0 <= 120:
        return 0.0
    projected = (pv1 - pv0) / (t1 - t0) * settings.ramp_lead_s
    return min(projected, settings.ramp_max_w)


def _need_wh(charger: ChargerInput) -> float:
    wanted = charger.prefs.energy_wh
    return math.inf if wanted is None else max(0.0, wanted - charger.delivered_wh)


def _expected_solar_share(car: _Car, cars: Sequence[_Car], fc: PvForecast | None, now_s: float) -> float:
    sun_wh = car.sun_ahead_wh(fc, now_s)
    if sun_wh is None:
        return 0.0
    total_need = sum(other.need_wh for other in cars if math.isfinite(other.need_wh))
    share = car.need_wh / total_need if total_need > 0 and math.isfinite(car.need_wh) else 0.0
    return sun_wh * share


def _set_floor(
    car: _Car,
    cars: Sequence[_Car],
    fc: PvForecast | None,
    snapshot: SiteSnapshot,
    site: SiteConfig,
    settings: ControllerSettings,
    now_s: float,
) -> None:
    if car.mode is Mode.PV_ONLY or car.idle:
        return
    voltage = site.voltage_v
    top_phases = 3 if car.charger.can_switch_phases else car.phases
    departure = car.charger.prefs.departure_utc
    plan = plan_departure(
        now_s,
        None if departure is None else departure.timestamp(),
        car.need_wh if math.isfinite(car.need_wh) else 0.0,
        car.max_w(voltage, top_phases),
        _expected_solar_share(car, cars, fc, now_s),
        settings.forecast_safety,
        snapshot.prices if car.mode is Mode.ECO_PLUS else None,
    )
    if car.mode is Mode.PV_PRIORITY:
        car.floor_w = max(car.min_w(voltage), plan.power_w)
        car.floor_reason = plan.reason if plan.power_w > 0 else "pv-priority: grid keeps the minimum"
    elif plan.power_w > 0:
        car.floor_w = max(car.min_w(voltage), plan.power_w)
        car.floor_reason = plan.reason


def _slot(car: _Car, voltage: float, rank: tuple, phases: int | None = None) -> Slot:
    if car.idle:
        return Slot(car.charger.charger_id, 0.0, 0.0, 0.0, car.memory.charging, rank)
    spare_a = max(0.0, car.charger.max_a - car.max_a)
    return Slot(
        car.charger.charger_id,
        car.min_w(voltage, phases),
        car.max_w(voltage, phases),
        car.floor_w,
        car.memory.charging,
        rank,
        spare_a * voltage * (phases or car.phases),
    )


def _choose_phases(
    cars: list[_Car],
    ranks: dict[str, tuple],
    available: float,
    fc: PvForecast | None,
    site: SiteConfig,
    settings: ControllerSettings,
    now: datetime,
    history: Sequence[tuple[float, float, float]] = (),
) -> None:
    voltage = site.voltage_v
    switchable = [car for car in cars if car.charger.can_switch_phases and not car.idle]
    if not switchable:
        return
    flexible = {car.charger.charger_id for car in switchable}
    slots = []
    for car in cars:
        cid = car.charger.charger_id
        if cid in flexible:
            slots.append(
                Slot(cid, car.min_w(voltage, 1), car.max_w(voltage, 3), car.floor_w, True, ranks[cid])
            )
        else:
            slots.append(_slot(car, voltage, ranks[cid]))
    chosen = pick(slots, available)
    power = distribute([slot for slot in slots if slot.charger_id in chosen], available)
    others_w = sum(watts for cid, watts in power.items() if cid not in flexible)
    for car in switchable:
        cid = car.charger.charger_id
        mine = max(power.get(cid, 0.0), available - others_w if len(switchable) == 1 else 0.0, car.floor_w)
        outlook = None
        if fc is not None:
            now_s = now.timestamp()
            outlook = (
                fc.mean_surplus_w(now_s, now_s + settings.phase_lockout_s) - settings.margin_w - others_w
            )
            outlook = max(outlook, car.floor_w)
        if not car.memory.charging and mine < car.min_w(voltage, 1) and car.floor_w <= 0:
            continue  # off and staying off: no reason to move the contactors
        spread = None
        if history and settings.phase_spread_s > 0:
            at_s = now.timestamp() + settings.phase_lockout_s / 2
            spread = [
                max(sample - settings.margin_w - others_w, car.floor_w)
                for sample in surplus_spread(
                    history, at_s, settings.phase_spread_s, site.latitude, site.longitude
                )
            ]
        phases, memory, why = choose_phases(
            car.memory,
            car.phases,
            mine,
            outlook,
            car.charger.min_a,
            voltage,
            now,
            settings,
            car.max_a,
            spread,
        )
        car.phases, car.memory, car.phase_reason = phases, memory, why


def _start_or_stay(
    car: _Car, picked: bool, now: datetime, settings: ControllerSettings, voltage: float, available: float
) -> bool:
    """Hysteresis for cars the sharing picked (or with a floor); False if the car was not picked."""
    memory = car.memory
    if car.idle:
        car.on = memory.charging
        return True
    if car.floor_w > 0:
        car.on = True
        car.memory = replace(memory, above_since=None, below_since=None, dip_since=None)
        return True
    if not picked:
        car.memory = replace(memory, above_since=None)
        return False
    if memory.charging or car.phase_reason:
        car.on = True
        car.memory = replace(memory, below_since=None, above_since=None, dip_since=None)
        return True
    since = memory.above_since or now
    waited = (now - since).total_seconds()
    strong = available >= car.min_w(voltage) + settings.enable_threshold_w
    car.memory = replace(memory, above_since=since if strong else None)
    if strong and waited >= settings.enable_delay_s:
        car.on = True
        car.memory = replace(car.memory, above_since=None)
    else:
        car.waiting_s = max(0.0, settings.enable_delay_s - waited)
    return True


def _no_swap(
    cars: Sequence[_Car],
    slots: Sequence[Slot],
    picked: set[str],
    ranks: dict[str, tuple],
    available: float,
    settings: ControllerSettings,
    voltage: float,
    fc: PvForecast | None,
    now_s: float,
) -> set[str]:
    """No swaps: a car that is off starts in a running car's place only for `swap_gain_w` more sun.

    `pick` serves cars in rank order, so a car that is off and ranked above a running one takes its
    place whenever the surplus would go to it: the running one drops out of the sharing (it hands over
    or bridges at its minimum, then pauses) and is started again later, a restart. Where the cars
    picked without the newcomer take as much of the surplus (within `swap_gain_w`), the swap moves no
    sun, only the order in which cars fill, so the running car keeps its place and the newcomer starts
    once the surplus is more than the running cars take or both minimums fit. A *hungry* newcomer
    (`_hungry`: it cannot get what it wants from its share of the forecast sun before it leaves) still
    takes the place: for it every minute counts, and the laxity order exists to serve it. The
    benchmark's sweep (README, session 8): restarts of the sweep's 20 other days' cars fall by a tenth
    (broken sky) to a third (clear sky) at the same solar; without the hungry exception the
    broken-cloud workplace loses 0.03 of the optimum.

    Nor does a car that is off start on top of running cars the sharing no longer picks (they bridge a
    dip or hand over at their minimum) where all the minimums do not fit the surplus: the newcomer's
    start would only make the running car the one that bridges from the grid, and the sharing would
    pick the running one again as soon as the surplus covers it, pausing the newcomer (session 9, the
    sweep's 2019-05-08 at 08:37: a 1-phase car started while a 3-phase car at 4.1 kW bridged a 50 W
    shortfall and was paused 10 s later, three times that morning). It starts once the bridging car
    is on again or paused, or at once if it is hungry.
    """
    for car in sorted(cars, key=lambda c: ranks[c.charger.charger_id]):
        if not _held_start(car, cars, picked, settings, voltage, fc, now_s):
            continue
        cid = car.charger.charger_id
        by_id = {slot.charger_id: slot for slot in slots}
        without = pick([slot for slot in slots if slot.charger_id != cid], available)
        displaced = [
            other for other in cars if other.memory.charging and other.charger.charger_id in without - picked
        ]
        if not displaced:
            continue
        take_with = min(available, sum(by_id[other].max_w for other in picked))
        take_without = min(available, sum(by_id[other].max_w for other in without))
        if take_with - take_without < settings.swap_gain_w:
            picked = without
    return _no_start_over_bridge(cars, picked, available, settings, voltage, fc, now_s)


def _held_start(
    car: _Car,
    cars: Sequence[_Car],
    picked: set[str],
    settings: ControllerSettings,
    voltage: float,
    fc: PvForecast | None,
    now_s: float,
) -> bool:
    """A start the no-swap rules may hold back: `car` is picked but not charging (nor idle), has no
    floor of its own and is not hungry (a hungry car always starts)."""
    if car.charger.charger_id not in picked or car.memory.charging or car.idle or car.floor_w > 0:
        return False
    return not _hungry(car, cars, fc, now_s, settings, voltage)


def _no_start_over_bridge(
    cars: Sequence[_Car],
    picked: set[str],
    available: float,
    settings: ControllerSettings,
    voltage: float,
    fc: PvForecast | None,
    now_s: float,
) -> set[str]:
    """The second half of `_no_swap`: no start where the running cars' minimums leave no room."""
    starting = [c for c in cars if c.charger.charger_id in picked and not c.memory.charging and not c.idle]
    running_w = sum(car.min_w(voltage) for car in cars if car.memory.charging and not car.idle)
    for car in starting:
        if not _held_start(car, cars, picked, settings, voltage, fc, now_s):
            continue
        others_w = sum(
            other.min_w(voltage)
            for other in starting
            if other is not car and other.charger.charger_id in picked
        )
        if running_w + others_w + car.min_w(voltage) > available:
            picked = picked - {car.charger.charger_id}
    return picked


def _cover_budget_wh(
    car: _Car, fc: PvForecast | None, now_s: float, settings: ControllerSettings, share: float | None = None
) -> float:
    """Grid energy a car may spend running on a covered minimum: a share of what it should get today.

    Tied to the energy expected by departure (delivered so far plus the forecast surplus, counted at
    `forecast_safety`, at most what the car still wants), not to the energy delivered so far: the dim
    morning hour where covered running pays most comes before most of the day's energy. `share` is
    `cover_grid_share` unless given (`hungry_cover_share` for a hungry car riding a shortfall).
    """
    sun_wh = car.sun_ahead_wh(fc, now_s)
    expected = min(0.0 if sun_wh is None else sun_wh * settings.forecast_safety, car.need_wh)
    share = settings.cover_grid_share if share is None else share
    return settings.bridge_allowance_wh + share * (car.charger.delivered_wh + expected)


def _sun_short(
    car: _Car, fc: PvForecast | None, now_s: float, settings: ControllerSettings, chargers: int
) -> bool:
    """Does the car want more than its share of the sun forecast until it leaves? (covered minimum)

    A lone car runs on a partly covered minimum (`cover_start` / `cover_stop`) to catch sun a paused car
    would lose; the grid tops it up. That gains sun only for a car the sun will not fill: one that
    wants less than the forecast surplus until it leaves gets its energy from the sun later anyway, so
    the sun it takes now only replaces later sun, and the grid's top-up is pure cost. Its share is the
    forecast divided by the site's chargers (connected or not: an empty charger may get a car and the
    sun with it), times `cover_unfilled`; no forecast or no wish counts as short. Benchmark README,
    session 10: the sweep's home #3986 (5.7 kWh, plugged in 00:22-15:38) took 2.22 % of its energy
    from the grid in two covered morning runs, then was full at 12:30; without them 0.40 % and more sun.
    """
    if settings.cover_unfilled <= 0 or not math.isfinite(car.need_wh):
        return True
    sun_wh = car.sun_ahead_wh(fc, now_s)
    return sun_wh is None or car.need_wh > settings.cover_unfilled * sun_wh / max(1, chargers)


def _covered(
    car: _Car, surplus_w: float, committed_w: float, share: float, budget_wh: float, voltage: float
) -> bool:
    """Does the surplus cover `share` of the car's minimum, within the grid budget?

    Past `COVER_FREE` the budget no longer applies: the grid then adds at most a tenth of the power, and
    a car that ran out of budget just as the sun reached its minimum would stop and start again.
    """
    if share <= 0:
        return False
    cover = (surplus_w - committed_w) / car.min_w(voltage)
    return cover >= share and (cover >= COVER_FREE or car.memory.bridged_wh < budget_wh)


def _hungry(
    car: _Car,
    cars: Sequence[_Car],
    fc: PvForecast | None,
    now_s: float,
    settings: ControllerSettings,
    voltage: float,
) -> bool:
    """Will this car still want energy after its share of the sun forecast until it leaves?

    Its share is the forecast surplus energy until its departure times its part of the present cars'
    maximum power. A car wanting `hungry_factor` times that cannot fill up before the day's peak, so
    keeping it at its minimum costs the peak no capacity; other cars are paused after `handover_s`,
    which keeps them hungry for the peak (benchmark README, session 6: pausing none cost 2.9 kWh of
    the broken-cloud workplace's 14:00 hour).
    """
    if settings.hungry_factor <= 0 or not math.isfinite(car.need_wh):
        return False
    sun_wh = car.sun_ahead_wh(fc, now_s)
    if sun_wh is None:
        return False
    total_max_w = sum(other.max_w(voltage) for other in cars if not other.idle)
    share = car.max_w(voltage) / total_max_w if total_max_w > 0 else 1.0
    return car.need_wh >= settings.hungry_factor * share * sun_wh


def _finishing(car: _Car, settings: ControllerSettings, voltage: float) -> bool:
    """Would the car be full within `handover_finish_s` (1 h) at its minimum?

    Then a handover pause keeps little room for a later peak (at most an hour of its minimum: 1.4 kWh
    on one phase, 4.1 kWh on three), and the car is restarted for its last part as soon as the sharing
    reaches it again. Kept at its minimum it only stays while the surplus carries it
    (`_keep_or_pause`): no grid energy. The other days' cars of `sweep.py` (benchmark README, session
    7): a 3-phase car wanting 464 Wh was handed over and paused at 12:47 and restarted at 13:02 for
    3 min (10 min horizon then). Session 11 compared the restarts with evcc-default's, car by car:
    evcc-default fills the small cars it starts in the morning and never pauses them for others,
    while here they are handed over to hungrier cars and restarted at noon. An hour instead of 10 min:
    the broken-cloud day's 20 sweep days 84 -> 74 restarts for 0.38 kWh of 1,605 kWh of sun (the room
    kept back that a later hour missed, 2019-05-08); 2 h: 71 for 0.47 kWh. run.py's days unchanged.
    """
    return (
        settings.handover_finish_s > 0
        and car.need_wh <= car.min_w(voltage) * settings.handover_finish_s / 3600.0
    )


def _sun_spare(
    cars: Sequence[_Car],
    fc: PvForecast | None,
    now_s: float,
    settings: ControllerSettings,
    voltage: float,
) -> bool:
    """Will the forecast sun until the present cars leave exceed what they still want?

    Each present car counts with what it still wants, at most its maximum power until it leaves. Where
    the forecast surplus until the last of them leaves exceeds that sum there will be sun nobody takes,
    so room kept on a handed-over car buys a later peak nothing, and the handover lasts
    `handover_spare_s` (1 h) instead of `handover_s` (10 min); otherwise the room is kept as before.
    Cars without a departure or an energy wish make the answer no. Why: session 11 compared the
    restarts with evcc-default's car by car (benchmark README): small cars handed over to hungrier ones
    at noon were paused while the surplus still covered every minimum and restarted 1-70 min later. A
    20 min handover for every car cut the broken-cloud day's 20 sweep days from 74 to 65 restarts, but
    the tuning day fell from 0.971 to 0.948 of the optimum: its cars, kept at their minimum all
    morning, were full before the 14:00 peak. With this gate the tuning day never takes the longer
    handover (all run.py rows unchanged) and the sweep days go 74 -> 64 restarts for 0.12 kWh of
    1,604 kWh of sun, grid 10.34 -> 9.49 kWh (20 min: 67 restarts, -0.01 kWh).
    """
    if settings.handover_spare_s <= 0 or fc is None:
        return False
    present = [other for other in cars if not other.idle]
    want_wh = 0.0
    last_s = now_s
    for other in present:
        departure = other.charger.prefs.departure_utc
        if departure is None or not math.isfinite(other.need_wh):
            return False
        end_s = departure.timestamp()
        last_s = max(last_s, end_s)
        want_wh += min(other.need_wh, other.max_w(voltage) * max(0.0, end_s - now_s) / 3600.0)
    return fc.surplus_energy_wh(now_s, last_s) > want_wh


def _fleet_hungry(
    car: _Car,
    cars: Sequence[_Car],
    fc: PvForecast | None,
    now_s: float,
    settings: ControllerSettings,
    voltage: float,
) -> bool:
    """Can the other cars take the forecast sun without this one, and can the sun not fill them all?

    The handover pause (`handover_s`) keeps a car hungry so that the cars present still have room when
    a peak comes; `_hungry` skips it for a car that cannot fill up on its own share. This is the same
    question asked of all present cars together: the pause buys nothing but a restart where (1) the
    present cars want at least `fleet_hungry_factor` times the forecast surplus energy until the last
    of them leaves (the sun cannot fill them, so none runs out of room), and (2) at every 10 min until
    this car leaves, the forecast surplus is at most the maximum power of the other cars still there
    (the peak needs no room on this car). A car kept so stays at its minimum only while the surplus
    carries it (`_keep_or_pause`): no grid energy. Cars without a departure or an energy wish make the
    answer no. The broken-cloud workplace (benchmark README, session 7): at 15:26 local the cars
    present wanted 2.9 times the forecast sun until they left, and a 1-phase car handed over there was
    restarted 11 min later; at 12:48 they wanted 1.6 times it, and keeping the car handed over there
    cost the 14:40 peak 2.7 kWh (ratio 1.3 or less: 0.9468 of the optimum).
    """
    if settings.fleet_hungry_factor <= 0 or fc is None:
        return False
    present = [other for other in cars if not other.idle]
    ends: dict[str, float] = {}
    for other in present:
        departure = other.charger.prefs.departure_utc
        if departure is None or not math.isfinite(other.need_wh):
            return False
        ends[other.charger.charger_id] = departure.timestamp()
    fleet_need_wh = sum(other.need_wh for other in present)
    if fleet_need_wh < settings.fleet_hungry_factor * fc.surplus_energy_wh(now_s, max(ends.values())):
        return False
    mine = ends[car.charger.charger_id]
    at_s = now_s + FLEET_STEP_S
    while at_s < mine:
        room_w = sum(
            other.max_w(voltage)
            for other in present
            if other is not car and ends[other.charger.charger_id] > at_s
        )
        if fc.surplus_w(at_s) - settings.margin_w > room_w:
            return False
        at_s += FLEET_STEP_S
    return True


def _shed_larger(
    car: _Car,
    before: ChargerMemory,
    candidates: list[_Car],
    committed_w: float,
    available: float,
    cars: Sequence[_Car],
    now: datetime,
    voltage: float,
) -> float:
    """A car whose bridge just ended: pause a bridging car with a larger minimum instead, if that is enough.

    Cars bridging a shortfall together run out of bridge one by one, in the order their dips began. If
    the small one goes first, the shortfall remains and the larger one goes too when its bridge ends,
    and then the small one's minimum fits again and it restarts: two pauses and a restart. Pausing the
    larger one (`candidates`: cars kept on by a bridge this cycle, ranked higher) ends the shortfall at
    once with one pause, and a large minimum is the one that fits again last, so it is the car least
    likely to be wanted back soon. Only where the cars left on can still take the whole surplus at
    their maximum (no sun lost) and the larger minimum alone covers the shortfall. The broken-cloud
    workplace (benchmark README, session 7): a 1-phase car was paused at 15:35 local and restarted
    at 15:37 when a 3-phase car's bridge ended; that car was not restarted. Returns the new committed
    minimum power.
    """
    min_w = car.min_w(voltage)
    short_w = committed_w + min_w - available
    for larger in candidates:
        larger_w = larger.min_w(voltage)
        if not larger.on or larger_w <= min_w or larger_w < short_w:
            continue
        room_w = sum(
            other.max_w(voltage) for other in cars if other.on and not other.idle and other is not larger
        )
        if room_w + car.max_w(voltage) < available:
            continue
        larger.on, larger.bridging, larger.covering = False, False, False
        larger.memory = replace(larger.memory, below_since=None, dip_since=None)
        candidates.remove(larger)
        car.on, car.handing_over = True, True
        car.memory = replace(before, below_since=before.below_since or now, dip_since=None)
        return committed_w - larger_w
    return committed_w


def _rides_shortfall(
    car: _Car,
    committed_w: float,
    surplus_w: float,
    fc: PvForecast | None,
    now_s: float,
    settings: ControllerSettings,
    voltage: float,
) -> bool:
    """May a hungry car stay at its minimum, other cars on, where the surplus no longer carries them all?

    Yes while (1) the recent surplus covers `cover_stop` of all running cars' minimums, this one's
    included (the grid adds the rest), (2) the forecast expects the surplus to carry them all again
    within `hungry_return_s`, and (3) the grid energy this car spends so stays within
    `hungry_cover_share` of the energy it is expected to get today (up to 90 % cover the budget binds,
    as for a car alone). Why: a hungry car cannot fill up before it leaves, so its minimum costs no
    other car the sun later (the reason it skips the handover); pausing it in a dip the sun will make
    good within the hour only buys a restart, since the sharing starts it again as soon as the sun
    returns. The broken-cloud workplace's morning (benchmark README, session 7): a 1-phase car that
    came at 09:27 was pushed off within 4 min by a 3-phase car's restart and restarted at noon; riding
    the 80 %-covered hour keeps it on. Where the sun is not expected back (an evening), the car pauses
    as before: bridging would buy nothing but grid energy.
    """
    if settings.hungry_cover_share <= 0 or settings.hungry_return_s <= 0 or fc is None:
        return False
    total_w = committed_w + car.min_w(voltage)
    cover = surplus_w / total_w if total_w > 0 else 0.0
    if cover < settings.cover_stop:
        return False
    budget = _cover_budget_wh(car, fc, now_s, settings, settings.hungry_cover_share)
    if cover < COVER_FREE and car.memory.bridged_wh >= budget:
        return False
    ahead = settings.hungry_return_s
    expected = max(fc.surplus_w(now_s + ahead * (k + 1) / 6) for k in range(6))
    return expected >= total_w + settings.margin_w


def _keep_or_pause(
    car: _Car,
    committed_w: float,
    others_on: bool,
    now: datetime,
    settings: ControllerSettings,
    voltage: float,
    available: float,
    covered: bool = False,
    hungry: bool = False,
    pool_wh: float = 0.0,
    handover_s: float | None = None,
) -> None:
    """A charging car the sharing did not pick: hand over, bridge a dip, or pause.

    Handing over (others take the surplus, this car stays at its minimum without any grid energy) lasts at
    most `handover_s` (the caller's, else the setting's), or as long as the car is `hungry`. Bridging a
    dip from the grid lasts at most `disable_delay_s` for a car alone and `bridge_shared_s` (shorter)
    while other cars are on: they keep the solar in use anyway, the bridge only spares a stop and restart
    for a passing cloud. The dip is timed from when the sun stopped covering the car, not from when it
    began handing over (a car handing over for 4 min used to meet its first dip with no bridge left), and
    a shared bridge may draw on `pool_wh`, the unspent part of all present cars' budget: a car that came a
    quarter of an hour ago has almost none of its own.
    """
    memory = car.memory
    car.on = False
    if not memory.charging:
        return
    since = memory.below_since or now
    waited = (now - since).total_seconds()
    min_w = car.min_w(voltage)
    handover_s = settings.handover_s if handover_s is None else handover_s
    if committed_w + min_w <= available and (waited < handover_s or hungry):
        car.on, car.handing_over = True, True
        car.memory = replace(memory, below_since=since, dip_since=None)
        return
    dip_since = memory.dip_since or now
    dipped = (now - dip_since).total_seconds()
    budget = settings.bridge_allowance_wh + settings.bridge_grid_share * car.charger.delivered_wh
    if others_on:
        budget = max(budget, memory.bridged_wh + pool_wh)
    limit_s = settings.bridge_shared_s if others_on else settings.disable_delay_s
    if covered or (dipped < limit_s and memory.bridged_wh < budget):
        car.on, car.bridging, car.covering = True, True, covered
        car.memory = replace(memory, below_since=since, dip_since=dip_since)
        return
    car.memory = replace(memory, below_since=None, dip_since=None)


def _deadband(car: _Car, amps: float, dt_s: float, settings: ControllerSettings, same_shape: bool) -> float:
    """Keep the last limit through small moves, unless they add up.

    A move smaller than the deadband (`min_raise_a` up, `min_change_a` down) is not sent; its size
    times the time it lasts is summed instead, and once that sum reaches `deadband_as` (ampere-seconds,
    0 = off) the move is sent after all, if it is at least `min_step_a` (a raise) or `min_cut_step_a`
    (a cut). So PV flicker around a limit sends nothing, while a small but lasting offset (sun lost to
    a limit too low, or grid drawn by one too high) is corrected.

    Asymmetric on purpose (benchmark README, session 5): a small raise only gains a little sun, so it
    waits for 0.4 A; a small cut stops grid import, so 0.1 A is enough, and without a grid floor it
    goes `cut_headroom_a` below the target, so a slowly falling afternoon surplus is followed by one
    cut every few minutes instead of an import after every cycle. The sum is reset when the move
    changes direction and held at the threshold (anti-windup): before, sun left unused below a raise
    too small to send piled up for an hour, and a later cut that stopped a 350 W import waited for
    that pile to drain (0.10 % of the clear home day's charging came from the grid that way).

    A held raise up to the car's maximum (`raise_to_max`) is sent once it adds up even if smaller than
    `min_step_a`: otherwise a car left at 15.7 A of its 16 A loses 0.3 A of sun for as long as the
    surplus stays above its maximum (session 7: 0.2 kW for 50 min at the broken-cloud workplace). Not
    under a calm sky, where the whole-ampere step keeps a clear day's profiles down.
    """
    previous = car.memory
    delta = amps - previous.limit_a
    if (
        not same_shape
        or previous.limit_a > car.charger.max_a
        or delta >= settings.min_raise_a
        or delta <= -settings.min_change_a
    ):
        car.memory = replace(previous, deadband_as=0.0)
        return amps
    # anti-windup: a move the other way starts afresh, and the sum stops at the threshold, so sun left
    # unused for an hour below a too-small raise cannot delay a later cut that stops grid import
    error = (previous.deadband_as if previous.deadband_as * delta > 0 else 0.0) + delta * dt_s
    if settings.deadband_as > 0:
        error = max(-settings.deadband_as, min(settings.deadband_as, error))
    if (
        settings.deadband_as > 0
        and abs(error) >= settings.deadband_as
        and delta * error > 0
        and (
            abs(delta) >= (settings.min_step_a if delta > 0 else settings.min_cut_step_a) - 1e-9
            or (settings.raise_to_max and delta > 0 and amps >= car.max_a - 1e-9)
        )
    ):
        car.memory = replace(previous, deadband_as=0.0)
        if delta < 0 and car.floor_w <= 0:
            return max(car.charger.min_a, round(amps - settings.cut_headroom_a, 6))
        return amps
    car.memory = replace(previous, deadband_as=error)
    return max(previous.limit_a, car.charger.min_a)


def _reason(car: _Car, amps: float, capped_by: str | None, available: float, voltage: float) -> str:
    if capped_by and amps <= 0:
        return f"paused: {capped_by} reached"
    if car.idle:
        return "car not drawing (full or suspended): offering the minimum, its share goes to others"
    if not car.on:
        min_kw = car.min_w(voltage) / 1000
        if car.waiting_s is not None:
            return f"surplus {available / 1000:.1f} kW covers the minimum; starting in {car.waiting_s:.0f} s"
        if available >= car.min_w(voltage):
            return f"paused: the {available / 1000:.1f} kW surplus goes to cars ranked higher"
        return (
            f"paused: surplus {max(available, 0) / 1000:.1f} kW below the {min_kw:.1f} kW minimum "
            f"on {car.phases} phase{'s' if car.phases > 1 else ''}"
        )
    parts = [f"{car.mode.value}: {amps:.1f} A on {car.phases} phase{'s' if car.phases > 1 else ''}"]
    if car.phase_reason:
        parts.append(car.phase_reason)
    if car.covering:
        parts.append("at the minimum on a surplus covering most of it (limited grid use)")
    elif car.bridging:
        parts.append("bridging a dip at the minimum (limited grid use)")
    elif car.handing_over:
        parts.append("at the minimum, handing the surplus over to cars ranked higher")
    elif car.floor_w > 0:
        parts.append(car.floor_reason)
    else:
        parts.append(f"surplus {available / 1000:.1f} kW")
    if car.memory.draw_cap_a is not None and car.memory.draw_cap_a < car.charger.max_a:
        parts.append(f"car takes only ~{car.memory.draw_cap_a:.1f} A, the rest goes to others")
    if car.charger.unmeasured:
        # the operator's answer to "why is this car not raised?" (`unmeasured_draws`)
        parts.append("no reading from the charger yet: held at its offer until measured")
    if capped_by:
        parts.append(f"lowered by the {capped_by}")
    return "; ".join(parts)


def _session_memory(previous: ChargerMemory | None, charger: ChargerInput) -> ChargerMemory:
    if previous is None:
        return ChargerMemory(phases=charger.phases if charger.can_switch_phases else None)
    if not charger.connected:
        return ChargerMemory(
            last_phase_switch=previous.last_phase_switch,
            phases=previous.phases,
            charging=previous.charging,
            limit_a=previous.limit_a,
        )
    return previous


def draws_now(snapshot: SiteSnapshot, memory: ControllerMemory, voltage_v: float) -> SiteSnapshot:
    """The snapshot with each draw that began before this controller's previous call
    (`ChargerInput.measured_since`: an average's interval start, an older reading's time) bounded by the
    limit it set at that call (`memory`; 0 A for a car it did not charge). Clamped, not dropped: the
    reading is true but speaks of a time before that limit, and the car cannot draw more now.

    Why: the grid meter is live, a register rise is the average of the last interval. When the loop had
    lowered the car's limit within that interval the average still showed the earlier draw, counted as
    surplus while the grid no longer held it: an outside walk (1.6 wallbox, register only, every 10 s;
    6 kW of surplus) oscillated 0 -> 12.3 -> 6.0 -> 12.5 -> 6.0 -> 13.1 A with up to 3 kW of grid import
    every other cycle, instead of settling at 8.6 A.

    An average whose interval spans the controller's last raise (`measured_since` < `limit_since` <
    `measured_at`) is read as the draw since the raise: the interval's energy less what the car drew
    before it at most (the limit before, `previous_limit_a`), over the time since, no less than the
    average and no more than the raised limit. Why: the average mixes the old and the new limit and
    undercounts the draw now; the controller cut the car by that much and raised it again a cycle later
    (the walk above after its first raise: 8.6 -> 7.1 -> 9.5 -> 7.2 A, about 2 A of swing; now 8.6 A
    from the raise on). Counting the car's draw before the raise at its old limit errs low (a car below
    its limit left more for after), so the estimate is never above what the car could draw."""
    if memory.time_utc is None:
        return snapshot
    chargers = []
    for charger in snapshot.chargers:
        mem = memory.chargers.get(charger.charger_id)
        since = charger.measured_since
        if mem is not None and since is not None and since < memory.time_utc:
            amps = mem.limit_a if mem.charging else 0.0
            # on the more phases of the two: a switched car's draw may be reported over the site's phases
            phases = max(mem.phases or 1, charger.phases)
            in_force_w = amps * voltage_v * phases
            if charger.measured_w > in_force_w:
                charger = replace(charger, measured_w=in_force_w)
            raised = mem.limit_since
            until = charger.measured_at
            if (
                mem.charging
                and 0 < mem.previous_limit_a < mem.limit_a
                and raised is not None
                and until is not None
                and since < raised < until
                and mem.last_phase_switch != raised
            ):
                before_wh = mem.previous_limit_a * voltage_v * phases * (raised - since).total_seconds()
                total_wh = charger.measured_w * (until - since).total_seconds()
                after_w = (total_wh - before_wh) / (until - raised).total_seconds()
                charger = replace(charger, measured_w=min(max(after_w, charger.measured_w), in_force_w))
        chargers.append(charger)
    return replace(snapshot, chargers=tuple(chargers))


def _held_a(charger: ChargerInput) -> float:
    """What a car the controller did not charge could draw: its charger's offer (a lift it started on),
    0 when that is below the minimum or unknown."""
    offered = charger.offered_a
    return offered if offered is not None and offered >= charger.min_a else 0.0


def unmeasured_draws(snapshot: SiteSnapshot, memory: ControllerMemory, voltage_v: float) -> SiteSnapshot:
    """The snapshot with each connected car whose draw is not known yet (`ChargerInput.unmeasured`: a
    session that started moments ago, or one whose charger has sent no reading since its start register
    and has not said the car draws nothing; `actuation.snapshot`) counted as drawing what the charger
    carries for it (`offered_a`, on its phases), and offered no more than that this cycle.

    Why: a 1.6 wallbox that sends only its register every 10 s has none but `meterStart` for the first
    cycle; its car, started on the connector's lift (6 A), showed in the live grid meter but counted 0 W,
    the surplus looked short of its minimum by exactly its draw, and it was paused (0 A) for a cycle and
    started again on the next: a start/stop cycle for nothing (issue 10: never below 6 A while charging).
    As evcc does for a charger without a meter: a car counts as drawing what it was offered until
    measured. The cap keeps that from offering surplus that is not there: a car that has not begun to
    draw yet (its offer not in the grid's reading) makes the surplus look larger by its offer, so it may
    keep that offer but is raised only once measured; the other cars see the surplus less its offer, as
    they would with the car drawing. An offer below the minimum (a 0 A baseline: the car cannot draw)
    is the 0 W the car draws, and no offer known (the charger rejected every profile) leaves the car at
    0 W as before. Such a car is not judged by `track_draw` (`decide`): no reading is no evidence that
    it does not draw, and a car marked not drawing gives its share to the others while its charger still
    holds its offer (a register-only car on its 6 A lift, no reading for 80 s, beside a metered car: the
    other went 9.9 -> 15.9 A and the site imported 4.1 kW). A car that does not draw is found out by its
    first reading, or at once by its charger's status (SuspendedEV ...)."""
    chargers = []
    for charger in snapshot.chargers:
        offered = charger.offered_a
        if charger.connected and charger.unmeasured and offered is not None and offered >= charger.min_a:
            mem = memory.chargers.get(charger.charger_id)
            phases = (mem.phases or charger.phases) if charger.can_switch_phases and mem else charger.phases
            charger = replace(
                charger,
                measured_w=max(charger.measured_w, offered * voltage_v * phases),
                max_a=min(charger.max_a, offered),
            )
        chargers.append(charger)
    return replace(snapshot, chargers=tuple(chargers))


def decide(
    snapshot: SiteSnapshot,
    site: SiteConfig,
    memory: ControllerMemory | None = None,
    settings: ControllerSettings = DEFAULT_SETTINGS,
) -> SiteDecision:
    """One control cycle; pass the returned `memory` to the next call (see the module docstring)."""
    memory = memory or ControllerMemory()
    now = snapshot.time_utc
    now_s = now.timestamp()
    voltage = site.voltage_v
    snapshot = draws_now(snapshot, memory, voltage)
    # what the meters say, for judging what a car really draws: an unmeasured car's assumed draw is not
    # evidence that it draws (a car that never does is still found out, `track_draw`)
    metered = {charger.charger_id: charger for charger in snapshot.chargers}
    snapshot = unmeasured_draws(snapshot, memory, voltage)
    dt_s = (
        0.0 if memory.time_utc is None else min(MAX_DT_S, max(0.0, (now - memory.time_utc).total_seconds()))
    )
    available = available_for_cars(snapshot, site, settings)

    history = memory.pv_history
    fc: PvForecast | None = None
    if snapshot.pv_w is not None:
        ev_w = sum(max(0.0, charger.measured_w) for charger in snapshot.chargers if charger.connected)
        house_w = snapshot.pv_w + snapshot.grid_w + snapshot.battery_w - ev_w
        history = remember(history, now_s, max(0.0, snapshot.pv_w), max(0.0, house_w), settings.history_s)
        fc = forecast(history, now_s, site.latitude, site.longitude)
        available += _ramp_w(history, settings)

    if calm_sky(
        history, now_s, site.latitude, site.longitude, settings.calm_window_s, settings.calm_tolerance
    ):
        settings = replace(
            settings,
            min_step_a=max(settings.min_step_a, settings.calm_step_a),
            cut_headroom_a=max(settings.cut_headroom_a, settings.calm_cut_headroom_a),
            raise_to_max=False,
        )
    memories: dict[str, ChargerMemory] = {}
    cars: list[_Car] = []
    decisions: dict[str, ChargerDecision] = {}
    for charger in snapshot.chargers:
        cid = charger.charger_id
        previous = memory.chargers.get(cid)
        mem = _session_memory(previous, charger)
        phases = (mem.phases or charger.phases) if charger.can_switch_phases else charger.phases
        # a switched car's draw is read on the phases it was switched to: a real site reports the site's
        # phases for it, and 1-phase power spread over three looks like a third of the current
        # a car without a reading is not judged: no reading is no evidence that it does not draw (marked
        # idle, its share went to the others while it drew its offer: grid import; `unmeasured_draws`)
        if charger.connected and not metered[cid].unmeasured:
            mem = track_draw(mem, replace(metered[cid], phases=phases), now, voltage, settings)
        need = _need_wh(charger)
        if not charger.connected or need <= 0:
            reason = "no car connected" if not charger.connected else "energy wanted reached"
            decisions[cid] = ChargerDecision(cid, 0.0, phases, 0.0, False, mem.charging, reason)
            memories[cid] = replace(
                mem, charging=False, limit_a=0.0, limit_since=now if mem.charging else mem.limit_since
            )
            continue
        # a capped car is planned with what it draws (cap minus the tolerance) and offered the cap
        max_a = (
            charger.max_a
            if mem.draw_cap_a is None
            else max(charger.min_a, min(charger.max_a, mem.draw_cap_a - settings.draw_tolerance_a))
        )
        idle_since = mem.not_drawing_since
        idle = idle_since is not None and (now - idle_since).total_seconds() >= NOT_DRAWING_GRACE_S
        car = _Car(charger, mem, charger.prefs.mode or site.mode, need, phases, max_a, idle=idle)
        cars.append(car)

    for car in cars:
        _set_floor(car, cars, fc, snapshot, site, settings, now_s)
    ranks = {car.charger.charger_id: _rank(car, now_s, voltage) for car in cars}
    _choose_phases(cars, ranks, available, fc, site, settings, now, history)

    slots = [_slot(car, voltage, ranks[car.charger.charger_id]) for car in cars]
    picked = pick(slots, available)
    if settings.swap_gain_w >= 0:
        picked = _no_swap(cars, slots, picked, ranks, available, settings, voltage, fc, now_s)
    unpicked = [
        car
        for car in sorted(cars, key=lambda car: ranks[car.charger.charger_id])
        if not _start_or_stay(car, car.charger.charger_id in picked, now, settings, voltage, available)
    ]
    committed = sum(max(car.floor_w, car.min_w(voltage)) for car in cars if car.on and not car.idle)
    # what a car at its minimum would mostly see: the mean of the recent surpluses as measured
    spread = surplus_spread(history, now_s, settings.cover_window_s, None, None, until_s=now_s)
    recent = sum(spread) / len(spread) if spread else None
    # the present cars' unspent bridging budget: no bridged energy changes before the accounting below
    pool = settings.bridge_pool_share * sum(c.charger.delivered_wh for c in cars) - sum(
        c.memory.bridged_wh for c in cars
    )
    bridged: list[_Car] = []  # unpicked cars a bridge keeps on this cycle (may be paused for a smaller one)
    for car in unpicked:
        others_on = any(other.on and not other.idle for other in cars if other is not car)
        if others_on:
            hungry = _hungry(car, cars, fc, now_s, settings, voltage)
            covered = False
            if hungry and car.memory.charging:
                seen = available if recent is None else max(available, recent - settings.margin_w)
                covered = _rides_shortfall(car, committed, seen, fc, now_s, settings, voltage)
            stays = (
                hungry
                or _finishing(car, settings, voltage)
                or (car.memory.charging and _fleet_hungry(car, cars, fc, now_s, settings, voltage))
            )
            before = car.memory
            handover_s = settings.handover_s
            if (
                not stays
                and settings.handover_spare_s > settings.handover_s
                and car.memory.charging
                and _sun_spare(cars, fc, now_s, settings, voltage)
            ):
                handover_s = settings.handover_spare_s
            _keep_or_pause(
                car, committed, others_on, now, settings, voltage, available, covered, stays, pool, handover_s
            )
            if car.on and car.bridging and not car.covering:
                bridged.append(car)
            elif settings.shed_larger_minimum and before.charging and not car.on:
                committed = _shed_larger(car, before, bridged, committed, available, cars, now, voltage)
        elif car.memory.charging:
            budget = _cover_budget_wh(car, fc, now_s, settings)
            seen = available if recent is None else max(available, recent - settings.margin_w)
            covered = _sun_short(car, fc, now_s, settings, len(snapshot.chargers)) and _covered(
                car, seen, committed, settings.cover_stop, budget, voltage
            )
            _keep_or_pause(car, committed, others_on, now, settings, voltage, available, covered)
        elif not car.idle and _sun_short(car, fc, now_s, settings, len(snapshot.chargers)):
            budget = _cover_budget_wh(car, fc, now_s, settings)
            seen = available if recent is None else min(available, recent - settings.margin_w)
            shortfall_wh = max(0.0, car.min_w(voltage) - seen + committed) * settings.cover_run_s / 3600.0
            if _covered(car, seen, committed, settings.cover_start, budget - shortfall_wh, voltage):
                car.on, car.bridging, car.covering = True, True, True
        if car.on:
            committed += car.min_w(voltage)

    on_cars = [car for car in cars if car.on]
    on_slots = [_slot(car, voltage, ranks[car.charger.charger_id]) for car in on_cars if not car.idle]
    power = distribute(on_slots, available)
    shortfall = max(0.0, sum(power.values()) - max(available, 0.0))
    bridging = [car for car in on_cars if car.bridging]
    for car in bridging:
        extra = shortfall / len(bridging) * dt_s / 3600.0
        car.memory = replace(car.memory, bridged_wh=car.memory.bridged_wh + extra)

    wanted: dict[str, float] = {}
    for car in on_cars:
        cid = car.charger.charger_id
        if car.idle:
            wanted[cid] = car.charger.min_a
            continue
        amps = _floor_to(power[cid] / (voltage * car.phases), settings.resolution_a)
        if car.memory.draw_cap_a is not None and amps >= car.max_a - settings.resolution_a:
            amps = max(amps, min(car.memory.draw_cap_a, car.charger.max_a))
        amps = min(max(amps, car.charger.min_a), car.charger.max_a)
        previous = car.memory
        same_shape = previous.charging and previous.phases in (None, car.phases) and not car.phase_reason
        wanted[cid] = _deadband(car, amps, dt_s, settings, same_shape)

    ordered = sorted(on_cars, key=lambda car: ranks[car.charger.charger_id])
    loads = [
        Load(
            car.charger.charger_id,
            wanted[car.charger.charger_id],
            car.phases,
            car.charger.phase,
            car.charger.min_a,
            car.charger.circuit_id,
        )
        for car in ordered
    ]
    headroom = tuple(site.grid_limit_a - amps for amps in house_currents(snapshot, site))
    capped, why = enforce(loads, headroom, site.circuits)
    previous_a = {car.charger.charger_id: car.memory.limit_a for car in cars if car.memory.charging}
    capped_loads = [replace(load, amps=capped[load.charger_id]) for load in loads]
    capped, held = hold_increases(capped_loads, previous_a, headroom, site.circuits)
    for cid in held:
        why.setdefault(cid, "site or circuit limit (waiting for other cars to turn down first)")

    for car in cars:
        cid = car.charger.charger_id
        amps = capped.get(cid, 0.0)
        if amps > 0:
            amps = _floor_to(amps, settings.resolution_a)
            if amps < car.charger.min_a:
                amps = 0.0
        charging = amps > 0
        car.on = charging
        previous = car.memory
        phase_changed = previous.phases is not None and previous.phases != car.phases and charging
        changed = (charging != previous.charging) or (
            charging and (abs(amps - previous.limit_a) > 1e-9 or phase_changed)
        )
        limit_w = amps * voltage * car.phases
        reason = _reason(car, amps, why.get(cid), available, voltage)
        decisions[cid] = ChargerDecision(cid, amps, car.phases, limit_w, charging, changed, reason)
        new_memory = replace(
            previous,
            charging=charging,
            limit_a=amps,
            phases=car.phases if (charging or car.charger.can_switch_phases) else previous.phases,
            limit_since=now if changed else previous.limit_since,
            previous_limit_a=(previous.limit_a if previous.charging else _held_a(car.charger))
            if changed
            else previous.previous_limit_a,
        )
        if not charging:
            new_memory = replace(new_memory, not_drawing_since=None, draw_cap_a=previous.draw_cap_a)
        memories[cid] = new_memory

    ordered_decisions = tuple(decisions[charger.charger_id] for charger in snapshot.chargers)
    outlook = None if fc is None else fc.surplus_w(now_s + 600.0)
    new_memory = ControllerMemory(time_utc=now, chargers=memories, pv_history=history)
    return SiteDecision(now, ordered_decisions, available, outlook, new_memory)


__all__ = ["DEFAULT_SETTINGS", "NOT_DRAWING_A", "decide"]
