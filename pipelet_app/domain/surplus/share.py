"""Sharing the surplus among a site's chargers.

Two steps, both in the order of `rank` (priority, then least slack before departure, then most energy
still needed, then charger id):

1. `pick`: which chargers should run. Chargers with a grid-backed floor are always in; then, in rank
   order, as many as it takes to absorb the surplus, each only if all chosen still fit at their
   minimum (so surplus smaller than one car's maximum but larger than two minimums is used in full).
   Hysteresis (start delay, bridging before a stop) is the controller's job, not this one's.
2. `distribute`: every charger that is on gets its floor or minimum, then what is left is poured in rank
   order up to each charger's maximum, and what still nobody takes is offered to cars that took less
   than offered before (their `spare_w`), which is how a car that can take more again is noticed
   without wasting surplus others could use. Filling in order (rather than evenly) means a passing cloud moves
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
    spare_w: float = 0.0  # above max_w: offered only from surplus nobody else takes (draw-capped cars)


def pick(slots: Iterable[Slot], available_w: float) -> set[str]:
    """The chargers the surplus (plus floors) should run: in rank order, only as many as it takes.

    A charger is added while the ones chosen so far could not take the whole surplus even at their
    maximum, and only if all chosen still fit at their minimum. So a car leaving soon is filled before
    a car that stays (which keeps room for the midday peak), and a small single-phase car still soaks
    up what a three-phase car's minimum cannot.
    """
    ordered = sorted(slots, key=lambda slot: slot.rank)
    floors = [slot for slot in ordered if slot.floor_w > 0]
    chosen = {slot.charger_id for slot in floors}
    min_sum = sum(max(slot.floor_w, slot.min_w) for slot in floors)
    max_sum = sum(max(slot.floor_w, slot.max_w) for slot in floors)
    for slot in ordered:
        if slot.floor_w > 0 or slot.max_w <= 0:
            continue
        if max_sum >= available_w:
            break
        if min_sum + slot.min_w <= available_w:
            chosen.add(slot.charger_id)
            min_sum += slot.min_w
            max_sum += slot.max_w
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
    for slot in ordered:  # what nobody can take goes to cars that took less than offered, to try again
        if remaining <= 0:
            break
        extra = min(slot.spare_w, remaining)
        if extra > 0:
            power[slot.charger_id] += extra
            remaining -= extra
    return power
