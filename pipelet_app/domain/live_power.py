"""A running session's power now, from its latest meter readings.

Why: the operator's charger page shows each running session's power next to its energy. Chargers that
report `Power.Active.Import` are taken at their word (W or kW); the others only send the energy register,
so power is the register's rise over the last two readings. Nothing to go on (one register reading, two at
the same instant, a register that went backwards): None, shown as "—" rather than a made-up 0 W.

The surplus loop asks the same of a charger that reports only its register (`register_draw`), with the
rules of docs/ocpp-energy-rules.md (`meter_energy`) and only while the readings still mean "now".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pipelet_app.domain import meter_energy

POWER = "Power.Active.Import"
REGISTER = "Energy.Active.Import.Register"
#: a register draw is the draw "now" while its newer reading is at most this many of its own meter
#: intervals old: a charger whose next reading is overdue may have stopped or been lowered since
NOW_INTERVALS = 2.0
#: charger timestamps have a resolution of a second: an interval may be up to this much longer than its
#: stamps say, so a draw at the connector's limit may look this much above it over a short interval
STAMP_RESOLUTION_S = 1.0
#: the steps (Wh) a coarse register sits on: 1 kWh, 0.1 kWh, 0.01 kWh (`register_step_wh`)
REGISTER_STEPS_WH = (1000.0, 100.0, 10.0)
#: the two newest readings of a coarse register tell the draw only when they rose by this many steps;
#: otherwise it is averaged back to where the register stood this many steps lower (`register_draw`)
MIN_STEPS = 2
#: how far back the surplus loop reads a register that sits on a step (`register_draw`): two 0.1 kWh
#: steps at a car's 4.1 kW minimum take about 3 minutes
COARSE_WINDOW_S = 300.0


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
    return _rise_w(registers[1], registers[0])


def _rise_w(before: Reading, after: Reading) -> float | None:
    """The register's average power from `before` to `after` (W); None for no time or a fall."""
    hours = (after.at - before.at).total_seconds() / 3600
    rise = _wh(after) - _wh(before)
    if hours <= 0 or rise < 0:
        return None
    return rise / hours


@dataclass(frozen=True, slots=True)
class Draw:
    """A charger's draw (W) as of a moment: the average since `since` (the interval's older reading)."""

    at: datetime
    watts: float
    since: datetime | None = None


def register_draw(
    registers: Iterable[Reading],
    now: datetime,
    *,
    start: Reading | None = None,
    max_power_w: float = meter_energy.DEFAULT_MAX_POWER_W,
    carry_w: float | None = None,
) -> Draw | None:
    """An open session's draw now from the rise between its two newest energy registers (Wh or kWh), as
    of the newer one; None when they do not tell. `start`: the session's start register, where the
    charger's figure stands (a 1.6 `meterStart` is stored on the session, not among the readings).

    Why: a charger that sends only `Energy.Active.Import.Register` (many 1.6 wallboxes) otherwise counts
    0 W in the surplus loop until the site-energy feed copies its readings (every `SITE_ENERGY_TICK_S`).
    The rules are those of the session's energy (docs/ocpp-energy-rules.md, `meter_energy`): a register
    of 0 among the readings is no reading (an unread meter, as in `decide_start`); a register that fell
    (a reset or replaced meter) or rose faster than `max_power_w` allows (`step_flag`) gives no draw.
    Readings at one instant count once (the highest: a register only rises). The draw is an average over
    the interval, so it speaks for now only while the newer reading is at most `NOW_INTERVALS` intervals
    old.

    `carry_w`: the most the connector can carry now (the surplus loop: the current it may give the car
    times its phases and the voltage, or the connector's `max_power_w` when lower). A draw above it
    (with `meter_energy.POWER_TOLERANCE` and a second of stamp resolution) is no reading, not clamped:
    `max_power_w` is 350 kW where the connector's is unknown (always for 1.6 unless an operator set it),
    so a step that passes it can still be impossible for an 11 kW wallbox (a 1.6 `meterStart` stamped
    late, a register of another meter). Such readings say nothing about the draw; clamped, an inflated
    rise would count as the connector's full power and the loop would offer that as surplus (grid import
    for a cycle). As no reading the loop falls back to the site sample, or 0 W: less surplus for a cycle,
    never more.

    A coarse register (all of at least three readings on a step of `REGISTER_STEPS_WH`) whose two newest
    readings rose by less than `MIN_STEPS` steps is read over its steps (`_stepped_draw`): the average
    from the first reading at a value at least `MIN_STEPS` steps lower to the first reading at its newest
    value, no more than a step over the time since that one, as of the newest reading (the loop passes
    `COARSE_WINDOW_S` of readings). Why: a 0.1 kWh register read every 10 s rises by 0 or 100 Wh at
    11 kW; the pair said 0 W (no step) or no reading (a step in 10 s looks like 36 kW, more than the
    connector carries), so such a car counted nothing and its draw looked like missing surplus. Both
    ends are read within an interval of a step, so the average is off by at most a reading interval
    over its span (at 10 kW two steps span about 70 s: a seventh); the cap makes a car that slowed or
    stopped count less and less as no step comes (a coarse register cannot tell which sooner). Without
    two such steps among the readings the pair decides as before.
    """
    usable = [r for r in registers if r.measurand == REGISTER and math.isfinite(r.value) and r.value > 0]
    metered = {r.at: r for r in sorted(usable, key=_wh)}  # the highest wins
    if start is not None and math.isfinite(start.value):
        usable.append(start)
    at_instant = {r.at: r for r in sorted(usable, key=_wh)}  # the highest wins
    if len(at_instant) < 2:
        return None
    after, before = (at_instant[at] for at in sorted(at_instant, reverse=True)[:2])
    interval_s = (after.at - before.at).total_seconds()
    if (now - after.at).total_seconds() > NOW_INTERVALS * interval_s:
        return None
    step_wh = register_step_wh([_wh(r) for r in metered.values()])
    if step_wh is not None and after.at in metered and _wh(after) - _wh(before) < MIN_STEPS * step_wh:
        stepped = _stepped_draw(sorted(metered.values(), key=lambda r: r.at), step_wh, max_power_w)
        if stepped is None:
            return _pair_draw(before, after, max_power_w, carry_w)
        watts, since = stepped
        if not carries(watts, (after.at - since).total_seconds(), carry_w):
            return None
        return Draw(after.at, watts, since)
    return _pair_draw(before, after, max_power_w, carry_w)


def _pair_draw(before: Reading, after: Reading, max_power_w: float, carry_w: float | None) -> Draw | None:
    """The average from `before` to `after`, by the rules of `register_draw`."""
    interval_s = (after.at - before.at).total_seconds()
    step = meter_energy.step_flag(
        meter_energy.Reading(before.at, _wh(before)), meter_energy.Reading(after.at, _wh(after)), max_power_w
    )
    watts = _rise_w(before, after)
    if step is not None or watts is None or not carries(watts, interval_s, carry_w):
        return None
    return Draw(after.at, watts, before.at)


def register_step_wh(values: list[float]) -> float | None:
    """The coarsest step of `REGISTER_STEPS_WH` that all of at least three register values (Wh) sit on;
    None for fewer values or a finer register."""
    if len(values) < 3:
        return None
    for step in REGISTER_STEPS_WH:
        if all(abs(v / step - round(v / step)) < 1e-6 for v in values):
            return step
    return None


def _stepped_draw(
    readings: list[Reading], step_wh: float, max_power_w: float
) -> tuple[float, datetime] | None:
    """A coarse register's draw (W) and since when (`register_draw`), from its readings in time order:
    the average between the first reading at its newest value and the first reading at a value at least
    `MIN_STEPS` steps lower (both read within an interval of the register's step, so their delays
    cancel), no more than a step over the time since the newest step (the register has not stepped
    again: a car that slowed or stopped counts less and less). None when the readings since the last
    fall hold no such two steps or the rise is faster than `max_power_w` allows."""
    firsts: list[Reading] = []  # the readings the register had just stepped to, newest first
    for i in range(len(readings) - 1, 0, -1):
        value, previous = _wh(readings[i]), _wh(readings[i - 1])
        if value < previous:
            break  # a reset or replaced meter: nothing before it counts
        if value > previous:
            firsts.append(readings[i])
    newest, top = readings[-1], firsts[0] if firsts else None
    if top is None or _wh(top) != _wh(newest):
        return None  # the newest value's first reading is not among them: when it stepped is unknown
    low = next((r for r in firsts if _wh(top) - _wh(r) >= MIN_STEPS * step_wh - 1e-6), None)
    if low is None:
        return None
    span = meter_energy.Reading(low.at, _wh(low)), meter_energy.Reading(top.at, _wh(top))
    watts = _rise_w(low, top)
    if watts is None or meter_energy.step_flag(*span, max_power_w) is not None:
        return None
    since_step_s = (newest.at - top.at).total_seconds()
    if since_step_s > 0:
        watts = min(watts, step_wh * 3600 / since_step_s)
    return watts, low.at


def carries(watts: float, interval_s: float, carry_w: float | None) -> bool:
    """Whether a connector that carries at most `carry_w` (None: unknown) can draw `watts` on average over
    `interval_s` as its meter stamps it (`register_draw`)."""
    if carry_w is None:
        return True
    slack = (interval_s + STAMP_RESOLUTION_S) / interval_s if interval_s > 0 else 1.0
    return watts <= carry_w * meter_energy.POWER_TOLERANCE * slack


def power_curve(registers: list[Reading]) -> list[tuple[datetime, float]]:
    """A session's power over time from its energy register: the average power of each interval between
    two readings, at the interval's end. Intervals of no time or with a falling register are left out
    (a gap in the curve, not a made-up value)."""
    ordered = sorted(
        (r for r in registers if r.measurand == REGISTER and math.isfinite(r.value)), key=lambda r: r.at
    )
    curve = []
    for before, after in itertools.pairwise(ordered):
        watts = _rise_w(before, after)
        if watts is not None:
            curve.append((after.at, watts))
    return curve


def register_rises(
    previous: tuple[datetime, float] | None, registers: Iterable[tuple[datetime, float]]
) -> list[tuple[datetime, float]]:
    """The site-energy feed's power of a charger that reports only its register: for each reading (time,
    Wh) in time order, the average power since the reading before it (`previous`: the one before the
    first, already fed), at the reading's time. A reading of 0 is an unread meter: no power, and the next
    rise is taken from the reading before it. A register that went backwards (a reset or replaced meter)
    or a reading of no time gives no power either (the next rise is taken from it).

    Why: the feed wrote 0 W for a register that went backwards (its rise, floored at 0); the surplus loop
    took that sample as the car's draw now (the register draw gives none for a fall), the surplus looked
    short by the car's whole draw, and a car at 8.6 A was cut to its minimum for a cycle (an outside
    walk, 1.6 register-only wallbox). No sample leaves the newest one before it standing, as of its own
    time (the controller bounds it by the limit it has set since, `controller.draws_now`). A 0 from an
    unread meter followed by the real register wrote 0 W and then the whole register as one rise."""
    out: list[tuple[datetime, float]] = []
    last = previous if previous is not None and previous[1] > 0 else None
    for at, wh in sorted(registers, key=lambda r: r[0]):
        if not math.isfinite(wh) or wh <= 0:
            continue
        if last is not None and at > last[0]:
            watts = _rise_w(Reading(last[0], REGISTER, last[1], "Wh"), Reading(at, REGISTER, wh, "Wh"))
            if watts is not None:
                out.append((at, watts))
        last = (at, wh)
    return out
