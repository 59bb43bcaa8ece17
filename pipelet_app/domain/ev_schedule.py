"""ISO 15118 smart charging (OCPP 2.0.1 K15-K17): the schedule the CSMS offers a car that told it its
needs, and whether the schedule the car then chose stays within it. Pure; `ocpp/iso15118.py` does I/O.

Why this shape:
- The offer is an upper envelope. It never exceeds the car's own maximum (`evMaxCurrent`, or for DC
  `evMaxPower` / current x voltage), the EVSE's rated power (`connectors.max_power_w`) nor the site's
  grid connection, and never asks for less than the car's minimum current (IEC 61851: below 6 A per
  phase an AC car must pause, so a lower offer is no schedule at all: the answer is Rejected).
- Load levelling (the use case's name): with a departure time and an energy amount, the car gets the
  lowest steady power that still delivers the energy by the departure with `LEVEL_MARGIN` to spare
  (cars taper near full), within [minimum, maximum]; a departure that cannot be met gets the maximum.
  After the departure the maximum applies again (the car is still plugged in, so it may finish).
  Without a departure or energy there is nothing to level: the maximum from now on.
- The car's schedule (NotifyEVChargingSchedule) is within the offer when at every moment it names its
  limit is at most the offer's limit then (`TOLERANCE` for rounding; A and W converted at the car's
  phase count and `VOLTAGE_V`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

VOLTAGE_V = 230.0
MIN_AC_CURRENT_A = 6.0
DEFAULT_AC_MAX_A = 32.0  # IEC 62196 type 2 AC; used only when neither the car nor the EVSE says less
DEFAULT_DC_MAX_W = 350_000.0
LEVEL_MARGIN = 1.1
TOLERANCE = 0.05
PHASES = {"AC_single_phase": 1, "AC_two_phase": 2, "AC_three_phase": 3}


@dataclass(frozen=True)
class EvNeeds:
    """NotifyEVChargingNeeds as the planner uses it (None = the car did not say)."""

    transfer: str
    energy_wh: float | None = None
    min_current_a: float | None = None
    max_current_a: float | None = None
    max_voltage_v: float | None = None
    max_power_w: float | None = None
    departure_in_s: float | None = None  # seconds from now
    max_tuples: int | None = None

    @property
    def ac(self) -> bool:
        return self.transfer.startswith("AC")

    @property
    def phases(self) -> int:
        return PHASES.get(self.transfer, 3)


@dataclass(frozen=True)
class Period:
    start_s: int
    limit: float
    phases: int | None = None


@dataclass(frozen=True)
class Offer:
    """A schedule (periods from its start, `unit` A per phase or W) or, with no periods, why none."""

    unit: str
    periods: tuple[Period, ...]
    reason: str

    @property
    def possible(self) -> bool:
        return bool(self.periods)


def _cap(needs: EvNeeds, evse_max_w: float | None, site_max_a: float | None) -> float:
    """The most the car may draw: A per phase for AC, W for DC."""
    if needs.ac:
        caps = [needs.max_current_a or DEFAULT_AC_MAX_A]
        if evse_max_w:
            caps.append(evse_max_w / (VOLTAGE_V * needs.phases))
        if site_max_a is not None:
            caps.append(site_max_a)
        return round(min(caps), 1)
    caps = [needs.max_power_w or DEFAULT_DC_MAX_W]
    if needs.max_current_a and needs.max_voltage_v:
        caps.append(needs.max_current_a * needs.max_voltage_v)
    if evse_max_w:
        caps.append(evse_max_w)
    if site_max_a is not None:
        caps.append(site_max_a * VOLTAGE_V * 3)  # a DC charger draws from the site's three phases
    return float(round(min(caps)))


def plan_offer(needs: EvNeeds, evse_max_w: float | None = None, site_max_a: float | None = None) -> Offer:
    """The schedule offered for `needs` under the EVSE's and the site's limits (module docstring)."""
    unit = "A" if needs.ac else "W"
    cap = _cap(needs, evse_max_w, site_max_a)
    floor = (needs.min_current_a or MIN_AC_CURRENT_A) if needs.ac else 0.0
    if cap <= 0 or cap < floor:
        shown = f"{cap:g} {unit}"
        return Offer(unit, (), f"the EVSE and site allow {shown}, below the car's minimum {floor:g} A")
    phases = needs.phases if needs.ac else None
    full = Period(0, cap, phases)
    departure = needs.departure_in_s
    if departure is None or departure <= 0 or not needs.energy_wh or needs.energy_wh <= 0:
        return Offer(unit, (full,), "no departure and energy to level: the maximum from now")
    per_unit_w = VOLTAGE_V * needs.phases if needs.ac else 1.0
    level = needs.energy_wh * LEVEL_MARGIN * 3600.0 / departure / per_unit_w
    if level >= cap:
        return Offer(unit, (full,), "the departure needs the maximum (or cannot be met): maximum")
    level = max(floor, round(level + 0.05, 1) if needs.ac else float(round(level + 0.5)))
    periods = (Period(0, level, phases), Period(int(departure), cap, phases))
    if needs.max_tuples is not None and needs.max_tuples < 2:
        periods = (Period(0, max(level, cap), phases),)  # one tuple allowed: the envelope must hold
    return Offer(unit, periods, f"levelled to {level:g} {unit} until the departure")


def limit_at(periods: Sequence[Period], offset_s: float) -> float | None:
    """The limit in force `offset_s` after the schedule's start (None before its first period)."""
    current = None
    for period in sorted(periods, key=lambda p: p.start_s):
        if period.start_s <= offset_s + 1e-9:
            current = period.limit
        else:
            break
    return current


def _convert(limit: float, unit: str, to_unit: str, phases: int) -> float:
    if unit == to_unit:
        return limit
    if unit == "A":
        return limit * VOLTAGE_V * phases
    return limit / (VOLTAGE_V * phases)


def within_offer(
    offer_unit: str,
    offer: Sequence[Period],
    ev_unit: str,
    ev: Sequence[Period],
    ev_starts_after_s: float,
    default_phases: int = 3,
) -> str | None:
    """None when the car's schedule stays within the offer, else the first breach in words.

    `ev_starts_after_s`: the car's timeBase minus the offer's startSchedule (seconds; may be negative).
    A car period that begins before the offer starts is judged against the offer's first limit.
    """
    if not ev:
        return "the car's schedule has no periods"
    first = min(offer, key=lambda p: p.start_s).limit if offer else None
    for period in ev:
        at = ev_starts_after_s + period.start_s
        allowed = limit_at(offer, at)
        if allowed is None:
            allowed = first
        if allowed is None:
            return "there is no offer to compare with"
        phases = period.phases or default_phases
        mine = _convert(period.limit, ev_unit, offer_unit, phases)
        if mine > allowed + TOLERANCE * (1 if offer_unit == "A" else VOLTAGE_V):
            when = f"at +{period.start_s} s"
            return f"{period.limit:g} {ev_unit} {when} exceeds the offered {allowed:g} {offer_unit}"
    return None
