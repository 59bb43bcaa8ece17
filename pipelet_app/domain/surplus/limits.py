"""The hard limits: the site's grid connection per phase and each circuit's breaker per phase.

Applied last, after sharing and after the deadband, so nothing the controller sends can exceed them.
Where a limit is exceeded, the lowest-ranked charger on that phase is turned down first, to its
minimum and then off: never below the minimum while charging. A single-phase charger loads the phase
it is wired to (`ChargerInput.phase`), a three-phase one all three.

The site headroom deliberately ignores PV: a cloud can take the PV away faster than the next control
cycle, so the cars' limits plus the house load (without PV) must fit the connection on their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipelet_app.domain.surplus.model import Circuit

EPSILON_A = 1e-6


@dataclass(frozen=True)
class Load:
    """A charger's limit as the caps see it."""

    charger_id: str
    amps: float
    phases: int
    phase: int  # for single phase: 1..3
    min_a: float
    circuit_id: str | None


def loaded_phases(load: Load) -> tuple[int, ...]:
    return (0, 1, 2) if load.phases >= 2 else ((load.phase - 1) % 3,)


def _chain(circuit_id: str | None, circuits: Mapping[str, Circuit]) -> list[str]:
    chain: list[str] = []
    while circuit_id is not None and circuit_id in circuits and circuit_id not in chain:
        chain.append(circuit_id)
        circuit_id = circuits[circuit_id].parent_id
    return chain


def _constraints(
    loads: Sequence[Load], site_headroom_a: Sequence[float], circuits: Sequence[Circuit]
) -> list[tuple[str, float, list[Load]]]:
    by_id = {circuit.circuit_id: circuit for circuit in circuits}
    constraints: list[tuple[str, float, list[Load]]] = []
    for phase in range(3):
        members = [load for load in loads if phase in loaded_phases(load)]
        constraints.append((f"site limit on L{phase + 1}", site_headroom_a[phase], members))
    for circuit in circuits:
        for phase in range(3):
            members = [
                load
                for load in loads
                if circuit.circuit_id in _chain(load.circuit_id, by_id) and phase in loaded_phases(load)
            ]
            if members:
                label = f"circuit {circuit.circuit_id} limit on L{phase + 1}"
                constraints.append((label, circuit.max_a, members))
    return constraints


def enforce(
    loads: Sequence[Load], site_headroom_a: Sequence[float], circuits: Sequence[Circuit]
) -> tuple[dict[str, float], dict[str, str]]:
    """Amps per charger after the caps (0 = off) and, for those turned down, which limit did it.

    `loads` is in rank order (most important first); turning down starts at the end.
    """
    amps = {load.charger_id: load.amps for load in loads}
    why: dict[str, str] = {}
    constraints = _constraints(loads, site_headroom_a, circuits)
    for _ in range(4 * len(loads) + 4):
        violated = False
        for label, limit, members in constraints:
            over = sum(amps[load.charger_id] for load in members) - max(0.0, limit)
            for load in reversed(members):
                if over <= EPSILON_A:
                    break
                current = amps[load.charger_id]
                if current <= 0:
                    continue
                violated = True
                lowered = current - over
                if lowered >= load.min_a:
                    amps[load.charger_id] = lowered
                    over = 0.0
                else:
                    amps[load.charger_id] = 0.0
                    over -= current
                why[load.charger_id] = label
        if not violated:
            break
    return amps, why


def hold_increases(
    loads: Sequence[Load],
    previous_a: Mapping[str, float],
    site_headroom_a: Sequence[float],
    circuits: Sequence[Circuit],
) -> tuple[dict[str, float], set[str]]:
    """Decrease first, increase a cycle later, where a limit binds.

    A car follows a new limit only after its response time, so in the moment after a cycle a car whose
    limit went down may still draw its old limit while another whose limit went up already draws the
    new one. Where that overlap would exceed a limit, increases are held at their old value (lowest
    rank first) until the decreases have taken effect. Assumes cars respond within one control period.
    """
    amps = {load.charger_id: load.amps for load in loads}
    held: set[str] = set()
    constraints = _constraints(loads, site_headroom_a, circuits)

    def overlap_fits() -> bool:
        for _label, limit, members in constraints:
            worst = sum(max(amps[m.charger_id], previous_a.get(m.charger_id, 0.0)) for m in members)
            if worst > max(0.0, limit) + EPSILON_A:
                return False
        return True

    for load in reversed(loads):
        if overlap_fits():
            break
        before = previous_a.get(load.charger_id, 0.0)
        if amps[load.charger_id] > before:
            amps[load.charger_id] = before if before >= load.min_a else 0.0
            held.add(load.charger_id)
    return amps, held
