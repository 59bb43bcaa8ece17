"""Whether a site's readings agree with its energy balance, before the surplus loop believes them.

The house load a site's meters imply is `PV + grid + battery - cars` (grid > 0 imports, battery > 0
discharges; docs/solar-share.md). It cannot be negative: something at the site would be producing that no
meter sees. Readings that give a clearly negative house load over the loop's whole 2-minute window are
wrong somewhere (a meter with a wrong sign or unit, a fake or mixed-up source), and the surplus
controller, which trusts PV and grid, would hand that phantom power to the cars. Believed readings that
were each plausible on their own gave a house load of -4.3 kW. The actuation loop treats such a site
like one with stale data (actuation.snapshot). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

#: a house load below -max(TOLERANCE_W, TOLERANCE_SHARE x PV) is implausible: meters of different
#: makes, sampled a few seconds apart, disagree by a few hundred watts and a few percent of production
TOLERANCE_W = 300.0
TOLERANCE_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class Reading:
    device_id: int
    kind: str  # pv, grid, battery, charger, load (a load meter is not part of the balance)
    ts: datetime
    power_w: float


def house_load_w(pv_w: float, grid_w: float, battery_w: float, cars_w: float) -> float:
    return pv_w + grid_w + battery_w - cars_w


def tolerance_w(pv_w: float) -> float:
    return max(TOLERANCE_W, TOLERANCE_SHARE * max(pv_w, 0.0))


def implausible_house_w(readings: Iterable[Reading], min_span: timedelta) -> float | None:
    """The (newest) house load the readings imply when it stays implausibly negative at every instant
    over at least `min_span`, else None.

    The balance is evaluated at each reading's time, every device holding its newest value, from the
    first instant at which every device of the readings has reported. No grid reading: None (no balance
    to check; the stale rule handles a missing grid meter)."""
    ordered = sorted((r for r in readings if r.kind != "load"), key=lambda r: r.ts)
    devices = {r.device_id for r in ordered}
    if not any(r.kind == "grid" for r in ordered):
        return None
    held: dict[int, Reading] = {}
    first: datetime | None = None
    house = 0.0
    for ts, group in groupby(ordered, key=lambda r: r.ts):
        for reading in group:
            held[reading.device_id] = reading
        if len(held) < len(devices):
            continue
        totals = {"pv": 0.0, "grid": 0.0, "battery": 0.0, "charger": 0.0}
        for reading in held.values():
            totals[reading.kind] = totals.get(reading.kind, 0.0) + reading.power_w
        house = house_load_w(totals["pv"], totals["grid"], totals["battery"], max(totals["charger"], 0.0))
        if house >= -tolerance_w(totals["pv"]):
            return None
        first = first or ts
    if first is None or ts - first < min_span:
        return None
    return house
