"""Sharing the surplus among a site's chargers.

Two steps, both in the order of `rank` (priority, then least slack before departure, then most energy
still needed, then charger id):

1. `pick`: which chargers the sun can carry at their minimum. Chargers with a grid-backed floor are
   always in. Chargers already charging are considered before those that are not (a start is not worth
   a stop elsewhere), then as many more as the remaining surplus covers at their minimum power. Taking
   as many chargers as fit at their minimum, rather than filling the first one to its maximum, is what
   lets surplus that is smaller than one car's maximum but larger than two minimums be used in full.
2. `distribute`: every charger that is on gets its floor or minimum, then what is left is poured in rank
   order up to each charger's maximum. Filling in order (rather than evenly) means a passing cloud moves
   one charger's limit, not all ten, so fewer profiles are sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """One charger as the sharing sees it, in watts on its current phases."""

    charger_id: str
    min_w: float
    max_w: float
    floor_w: float = 0.0
    on: bool = False
    rank: tuple = ()


def pick(slots: Iterable[Slot], available_w: float) -> set[str]:
    """The chargers the surplus (plus floors) can run at their minimum."""
    ordered = sorted(slots, key=lambda slot: slot.rank)
    chosen = {slot.charger_id for slot in ordered if slot.floor_w > 0}
    remaining = available_w - sum(max(slot.floor_w, slot.min_w) for slot in ordered if slot.floor_w > 0)
    for group in (True, False):
        for slot in ordered:
            if slot.floor_w > 0 or slot.on is not group:
                continue
            if slot.min_w <= remaining:
                chosen.add(slot.charger_id)
                remaining -= slot.min_w
    return chosen


def distribute(slots: Iterable[Slot], available_w: float) -> dict[str, float]:
    """Power for each charger that is on: floor or minimum first, then the rest in rank order."""
    ordered = sorted(slots, key=lambda slot: slot.rank)
    power = {slot.charger_id: min(slot.max_w, max(slot.floor_w, slot.min_w)) for slot in ordered}
    remaining = available_w - sum(power.values())
    for slot in ordered:
        if remaining <= 0:
            break
        extra = min(slot.max_w - power[slot.charger_id], remaining)
        if extra > 0:
            power[slot.charger_id] += extra
            remaining -= extra
    return power
