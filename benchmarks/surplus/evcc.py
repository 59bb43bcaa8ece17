"""An evcc-default PV controller, written from the published defaults (shared/reference/surplus-charging.md).

Per loadpoint, mode `pv`: sitePower = grid power (no battery, residual 0); effective current =
min(highest measured phase current + 2 A, offered current); target = effective current +
(-sitePower) / (230 V x phases), floored to whole amps and clamped to [min, max]. Enable after the
surplus has covered the minimum for 1 min (threshold 0 W), disable after it has not for 3 min (the car
stays at the minimum meanwhile). 1p/3p: down when the 3-phase target stays below the minimum for the
disable delay, up when the 1-phase target exceeds the maximum and the 3-phase target reaches the
minimum for the enable delay; 60 s grace after enabling or switching. Several loadpoints: one is
updated per 30 s cycle, round-robin, as the reference describes. Disable = limit 0. A session's energy
wish is evcc's session energy limit: once delivered, the loadpoint is disabled at its next update
(Pipelet stops on the same input; without this, evcc kept re-enabling cars that were already full,
which counted as restarts and profiles against it).

It speaks the simulator's controller protocol, so it runs in the very same virtual site.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from pipelet_app.domain.surplus import ChargerDecision, SiteSnapshot

VOLT = 230.0
ENABLE_DELAY_S = 60.0
DISABLE_DELAY_S = 180.0
GRACE_S = 60.0


@dataclass(frozen=True)
class Loadpoint:
    enabled: bool = False
    limit_a: float = 0.0
    phases: int | None = None
    above_since: datetime | None = None
    below_since: datetime | None = None
    phase_timer: tuple[int, datetime] | None = None
    grace_until: datetime | None = None


@dataclass(frozen=True)
class EvccState:
    loadpoints: dict[str, Loadpoint] = field(default_factory=dict)
    turn: int = 0


def _since(timer: datetime | None, now: datetime) -> float:
    return 0.0 if timer is None else (now - timer).total_seconds()


def _update(lp: Loadpoint, charger, site_power_w: float, now: datetime) -> Loadpoint:
    phases = (lp.phases or charger.phases) if charger.can_switch_phases else charger.phases
    if not charger.connected:
        return Loadpoint(phases=lp.phases)
    wanted = charger.prefs.energy_wh
    if wanted is not None and charger.delivered_wh >= wanted:  # evcc's session energy limit reached
        return Loadpoint(phases=phases)
    in_grace = lp.grace_until is not None and now < lp.grace_until
    measured = charger.measured_a or 0.0
    effective = min(measured + 2.0, lp.limit_a) if lp.enabled else 0.0
    target = math.floor(effective + (-site_power_w) / (VOLT * phases))
    if charger.can_switch_phases and not in_grace:
        surplus_w = effective * VOLT * phases - site_power_w
        target1 = math.floor(surplus_w / VOLT)
        target3 = math.floor(surplus_w / (VOLT * 3))
        want = None
        if phases == 3 and target3 < charger.min_a:
            want = 1
        elif phases == 1 and target1 > charger.max_a and target3 >= charger.min_a:
            want = 3
        if want is None:
            lp = replace(lp, phase_timer=None)
        else:
            timer = lp.phase_timer if lp.phase_timer and lp.phase_timer[0] == want else (want, now)
            delay = DISABLE_DELAY_S if want == 1 else ENABLE_DELAY_S
            if _since(timer[1], now) >= delay:
                phases = want
                lp = replace(
                    lp,
                    phases=want,
                    phase_timer=None,
                    grace_until=now.fromtimestamp(now.timestamp() + GRACE_S, now.tzinfo),
                )
                target = math.floor(surplus_w / (VOLT * phases))
            else:
                lp = replace(lp, phase_timer=timer)
    lp = replace(lp, phases=phases)
    if in_grace:
        return lp
    if not lp.enabled:
        if target >= charger.min_a:
            above = lp.above_since or now
            if _since(above, now) >= ENABLE_DELAY_S:
                return replace(
                    lp,
                    enabled=True,
                    limit_a=min(target, charger.max_a),
                    above_since=None,
                    grace_until=now.fromtimestamp(now.timestamp() + GRACE_S, now.tzinfo),
                )
            return replace(lp, above_since=above)
        return replace(lp, above_since=None)
    if target < charger.min_a:
        below = lp.below_since or now
        if _since(below, now) >= DISABLE_DELAY_S:
            return replace(lp, enabled=False, limit_a=0.0, below_since=None)
        return replace(lp, limit_a=charger.min_a, below_since=below)
    return replace(lp, limit_a=min(float(target), charger.max_a), below_since=None)


def evcc_default(
    snapshot: SiteSnapshot, state: EvccState | None
) -> tuple[Sequence[ChargerDecision], EvccState]:
    """One 30 s cycle: update the next loadpoint in turn, keep the others' limits."""
    state = state or EvccState()
    loadpoints = dict(state.loadpoints)
    chargers = list(snapshot.chargers)
    turn = state.turn
    for charger in chargers:
        lp = loadpoints.get(charger.charger_id, Loadpoint())
        if not charger.connected:
            loadpoints[charger.charger_id] = Loadpoint(phases=lp.phases)
    connected = [c for c in chargers if c.connected]
    if connected:
        charger = connected[turn % len(connected)]
        lp = loadpoints.get(charger.charger_id, Loadpoint())
        loadpoints[charger.charger_id] = _update(lp, charger, snapshot.grid_w, snapshot.time_utc)
        turn += 1
    decisions = []
    for charger in chargers:
        lp = loadpoints.get(charger.charger_id, Loadpoint())
        phases = (lp.phases or charger.phases) if charger.can_switch_phases else charger.phases
        on = charger.connected and lp.enabled
        limit = lp.limit_a if on else 0.0
        decisions.append(
            ChargerDecision(charger.charger_id, limit, phases, limit * VOLT * phases, on, False, "evcc")
        )
    return decisions, EvccState(loadpoints, turn)
