"""What the surplus controller reads and what it answers: plain frozen dataclasses, no I/O.

The actuation loop builds a `SiteSnapshot` from the site's latest measurements and the chargers' state
every 10-30 s, calls `decide`, sends a charging profile for each `ChargerDecision` whose `changed` is
true, and keeps the returned `ControllerMemory` for the next call. Everything the controller needs to
remember between calls (timers, lockouts, what a car really draws, recent PV) lives in that memory, so
the controller itself stays a pure function that the simulator and the benchmark call the same way.

Sign conventions follow interfaces.md: grid > 0 is import, battery > 0 is discharge, PV >= 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

VOLTAGE_V = 230.0
MIN_CURRENT_A = 6.0


class Mode(StrEnum):
    """The three modes of issue 10 (names as in the API and the CLI)."""

    PV_ONLY = "pv-only"
    PV_PRIORITY = "pv-priority"
    ECO_PLUS = "eco-plus"


@dataclass(frozen=True)
class PricePoint:
    """Energy price from `start_utc` until the next point's start (or `slot_s` after it, for the last)."""

    start_utc: datetime
    price_per_kwh: float


@dataclass(frozen=True)
class PriceSeries:
    """A dynamic tariff, however it was obtained (CSV, aWATTar, Tibber): the domain only reads it."""

    points: tuple[PricePoint, ...]
    slot_s: float = 900.0


@dataclass(frozen=True)
class SessionPrefs:
    """A driver's wishes for the session; None = not given (the site's defaults apply)."""

    mode: Mode | None = None
    departure_utc: datetime | None = None
    energy_wh: float | None = None
    priority: int = 5  # 0 highest .. 10 lowest, as in the MQTT transaction payload


@dataclass(frozen=True)
class ChargerInput:
    """One charger (connector) as the loop sees it right now.

    `phases` is what the charger uses now (1 or 3); a single-phase car on a three-phase charger is 1.
    `max_a` is the most the charger may offer this car per phase (cable, car, circuit breaker).
    `measured_a` is the highest phase current the meter shows, `measured_w` the active power.
    `phase` says which grid phase (1-3) a single-phase charger loads, for the per-phase site cap.
    """

    charger_id: str
    connected: bool
    max_a: float = 16.0
    min_a: float = MIN_CURRENT_A
    phases: int = 3
    can_switch_phases: bool = False
    measured_w: float = 0.0
    measured_a: float | None = None
    #: when `measured_w` began: the start of its interval where it is an average (a register's rise), the
    #: reading's time where it is of an instant; None: now (see `controller.draws_now`)
    measured_since: datetime | None = None
    #: when `measured_w` ends: the end of its interval (the newer register reading) where it is an
    #: average; None: unknown (see `controller.draws_now`: a raise within the interval)
    measured_at: datetime | None = None
    #: no draw known for this session yet (it started moments ago and no reading came since its start
    #: register): `measured_w` is no measurement, and the car counts as drawing `offered_a` (see
    #: `controller.unmeasured_draws`)
    unmeasured: bool = False
    #: the per-phase current the charger carries for this car now, as the loop last had it accepted (its
    #: TxProfile, else the connector's lift or baseline); None: unknown
    offered_a: float | None = None
    delivered_wh: float = 0.0
    circuit_id: str | None = None
    phase: int = 1
    prefs: SessionPrefs = field(default_factory=SessionPrefs)


@dataclass(frozen=True)
class Circuit:
    """A sub-distribution with a breaker: per-phase current limit over the chargers (and sub-circuits)."""

    circuit_id: str
    max_a: float
    parent_id: str | None = None


@dataclass(frozen=True)
class SiteConfig:
    """The site's fixed facts and the operator's choices."""

    grid_limit_a: float
    phases: int = 3
    voltage_v: float = VOLTAGE_V
    mode: Mode = Mode.PV_ONLY
    circuits: tuple[Circuit, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    battery_priority: bool = True
    battery_priority_soc: float = 100.0  # below this state of charge the home battery charges first


@dataclass(frozen=True)
class SiteSnapshot:
    """The latest measurements of a site and its chargers.

    `grid_a`: per-phase import current (L1, L2, L3) when the meter gives it; otherwise the controller
    spreads the grid power evenly over the site's phases. `load_w` is the house load without the cars,
    when metered; otherwise it is derived from the balance.
    """

    time_utc: datetime
    grid_w: float
    chargers: tuple[ChargerInput, ...]
    pv_w: float | None = None
    battery_w: float = 0.0
    battery_soc: float | None = None
    grid_a: tuple[float, float, float] | None = None
    prices: PriceSeries | None = None


@dataclass(frozen=True)
class ControllerSettings:
    """Thresholds and delays. Defaults are the ones benchmarks/surplus measured (see its README)."""

    margin_w: float = 20.0  # export kept in reserve so that small load steps do not import
    enable_delay_s: float = 0.0  # surplus above the minimum this long before a start ...
    enable_threshold_w: float = 0.0  # ... by at least this much
    disable_delay_s: float = 1200.0  # a single car bridges a dip below its minimum at most this long ...
    bridge_grid_share: float = 0.01  # ... and only while the grid energy spent bridging stays within
    bridge_allowance_wh: float = 15.0  # this share of the session's energy plus this allowance
    bridge_shared_s: float = 180.0  # with other cars on, a car bridges a dip at most this long, within
    bridge_pool_share: float = 0.01  # ... its own budget or this share of all present cars' energy
    cover_start: float = 0.8  # a car may run on a surplus covering this share of its minimum ... (0 = off)
    cover_stop: float = 0.65  # ... and keep running while it covers this share (the grid tops up) ...
    cover_window_s: float = 180.0  # ... judged on the mean surplus of this many recent seconds ...
    cover_grid_share: float = 0.02  # ... while its grid use stays within this share of its expected energy
    cover_run_s: float = 1200.0  # ... and starts only if that budget lasts this long at the present shortfall
    cover_unfilled: float = 1.0  # ... and only where the car wants more than this times its share of the
    # forecast sun until it leaves (the forecast over the site's chargers; 0 = off)
    handover_s: float = 600.0  # a car others can replace stays at its minimum this long before pausing,
    hungry_factor: float = 1.7  # ... unless it wants this many times its share of the forecast sun (0 = off)
    handover_finish_s: float = 3600.0  # ... or it would be full within this long at its minimum (0 = off)
    fleet_hungry_factor: float = 2.0  # ... or the present cars together want this many times the forecast
    # sun until they leave and the others' maximum power takes the forecast surplus (0 = off)
    handover_spare_s: float = 3600.0  # the handover lasts this long where the forecast sun until the
    # present cars leave exceeds what they still want (there will be sun nobody takes; 0 = off)
    shed_larger_minimum: bool = True  # a car whose bridge ends stays on where pausing a larger bridging car
    # instead ends the shortfall and the cars left on can take the whole surplus
    hungry_cover_share: float = 0.04  # a hungry car rides a shortfall at its minimum (others on) while its
    hungry_return_s: float = 3600.0  # ... grid use stays within this share of its expected energy and the
    # forecast sees the surplus carry all running minimums again within `hungry_return_s` (0 = off)
    swap_gain_w: float = 100.0  # a car that is off starts in a running car's place (pushing it out of the
    # sharing) only where that takes this much more of the surplus, or it is hungry (<0: off)
    phase_up_delay_s: float = 120.0
    phase_down_delay_s: float = 90.0
    phase_lockout_s: float = 600.0  # minimum time between two phase switches of one charger
    phase_up_margin_w: float = 400.0  # 3-phase minimum plus this before switching up
    phase_spread_s: float = 600.0  # recent measurements that say what the coming lockout may bring (0 = off)
    phase_spread_min_samples: int = 6  # ... used once there are this many, else the delays above decide
    phase_gain_w: float = 100.0  # switch when the other phase count is expected to take this much more sun
    phase_spread_delay_s: float = 30.0  # ... and keeps saying so this long
    draw_tolerance_a: float = 1.0  # a car drawing this much below the offer takes less than offered
    draw_settle_s: float = 20.0  # a new limit must stand this long before the draw is judged
    draw_probe_s: float = 1800.0  # a capped car is offered more when surplus is spare, or this often
    min_change_a: float = 1.0  # smaller cuts are not worth a new profile ...
    min_raise_a: float = 1.0  # ... nor smaller raises ...
    deadband_as: float = 10.0  # ... until they add up to this many A x s (0 = never) ...
    min_step_a: float = 0.4  # ... and then never a raise smaller than this (but see `raise_to_max`) ...
    min_cut_step_a: float = 0.1  # ... nor a cut smaller than this (a cut stops grid import: finer) ...
    cut_headroom_a: float = 0.2  # ... and such a cut goes this far below the target (PV-only)
    calm_tolerance: float = 0.05  # PV within this share of the clear-sky curve for `calm_window_s` is calm:
    calm_window_s: float = 600.0  # ... under a calm sky raises wait for `calm_step_a` and cuts go
    calm_step_a: float = 1.0  # ... `calm_cut_headroom_a` below the target (the next minutes are known)
    calm_cut_headroom_a: float = 0.5
    raise_to_max: bool = True  # a held raise up to the car's maximum may be below `min_step_a` (not calm)
    resolution_a: float = 0.1  # OCPP limits are sent in tenths of an ampere
    forecast_safety: float = 0.7  # share of forecast solar counted on when planning a departure
    history_s: float = 1800.0  # how much PV history the forecast keeps
    ramp_lead_s: float = 20.0  # PV slope projected this far ahead (response time of the cars)
    ramp_max_w: float = 3000.0  # a projected rise counts at most this much


@dataclass(frozen=True)
class ChargerMemory:
    """What the controller remembers about one charger between calls."""

    charging: bool = False
    limit_a: float = 0.0
    phases: int | None = None
    limit_since: datetime | None = None
    #: the limit in force before `limit_since` (for a car the controller did not charge, its charger's
    #: offer: the lift it started on, or 0 when below the minimum or unknown): a register average
    #: over an interval that spans a raise is read with it (`controller.draws_now`)
    previous_limit_a: float = 0.0
    above_since: datetime | None = None
    below_since: datetime | None = None  # not picked since (handing over, then bridging)
    dip_since: datetime | None = None  # the surplus stopped covering this car's minimum at (bridging)
    bridged_wh: float = 0.0
    last_phase_switch: datetime | None = None
    phase_want: int | None = None
    phase_want_since: datetime | None = None
    draw_cap_a: float | None = None
    draw_cap_since: datetime | None = None
    not_drawing_since: datetime | None = None
    deadband_as: float = 0.0  # small moves held back so far, summed over time (A x s)


@dataclass(frozen=True)
class ControllerMemory:
    """Everything carried from one call to the next; start with `ControllerMemory()`."""

    time_utc: datetime | None = None
    chargers: dict[str, ChargerMemory] = field(default_factory=dict)
    pv_history: tuple[tuple[float, float, float], ...] = ()  # (epoch s, pv W, house load W)


@dataclass(frozen=True)
class ChargerDecision:
    """What one charger should do now. `limit_a` is per phase; 0 means pause.

    `changed` is true when the limit, the phases or on/off differ from the previous decision by more
    than `min_change_a`: only then does the loop need to send a profile. `limit_w` is the same limit in
    watts for chargers that take W (`limit_a * phases * voltage`).
    """

    charger_id: str
    limit_a: float
    phases: int
    limit_w: float
    charging: bool
    changed: bool
    reason: str


@dataclass(frozen=True)
class SiteDecision:
    """The controller's answer for a site, plus the memory to pass to the next call."""

    time_utc: datetime
    chargers: tuple[ChargerDecision, ...]
    available_w: float
    forecast_w: float | None
    memory: ControllerMemory

    def changed(self) -> tuple[ChargerDecision, ...]:
        """The decisions that need a profile sent."""
        return tuple(decision for decision in self.chargers if decision.changed)
