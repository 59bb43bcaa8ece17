"""A running session's power now, from its latest meter readings.

Why: the operator's charger page shows each running session's power next to its energy. Chargers that
report `Power.Active.Import` are taken at their word (W or kW); the others only send the energy register,
so power is the register's rise over the last two readings. Nothing to go on (one register reading, two at
the same instant, a register that went backwards): None, shown as "—" rather than a made-up 0 W.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import datetime

POWER = "Power.Active.Import"
REGISTER = "Energy.Active.Import.Register"


@dataclass(frozen=True, slots=True)
class Reading:
    at: datetime
    measurand: str
    value: float
    unit: str


def _watts(r: Reading) -> float:
    return r.value * 1000 if r.unit.lower() == "kw" else r.value


def _wh(r: Reading) -> float:
    return r.value * 1000 if r.unit.lower() == "kwh" else r.value


def power_w(readings: list[Reading]) -> float | None:
    """Power at the newest reading: the newest reported power, else the register's last rise."""
    newest_first = sorted(readings, key=lambda r: r.at, reverse=True)
    for r in newest_first:
        if r.measurand == POWER and math.isfinite(r.value) and r.value >= 0:
            return _watts(r)
    registers = [r for r in newest_first if r.measurand == REGISTER and math.isfinite(r.value)]
    if len(registers) < 2:
        return None
    last, before = registers[0], registers[1]
    hours = (last.at - before.at).total_seconds() / 3600
    rise = _wh(last) - _wh(before)
    if hours <= 0 or rise < 0:
        return None
    return rise / hours


def power_curve(registers: list[Reading]) -> list[tuple[datetime, float]]:
    """A session's power over time from its energy register: the average power of each interval between
    two readings, at the interval's end. Intervals of no time or with a falling register are left out
    (a gap in the curve, not a made-up value)."""
    ordered = sorted(
        (r for r in registers if r.measurand == REGISTER and math.isfinite(r.value)), key=lambda r: r.at
    )
    curve = []
    for before, after in itertools.pairwise(ordered):
        hours = (after.at - before.at).total_seconds() / 3600
        rise = _wh(after) - _wh(before)
        if hours > 0 and rise >= 0:
            curve.append((after.at, rise / hours))
    return curve
