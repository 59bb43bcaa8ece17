"""A charging session's energy from a charger's meter readings, and what about it is implausible.

Two questions the OCPP specs leave to the CSMS (rules and reasons: docs/ocpp-energy-rules.md):

1. Which start reading to trust. A start register of 0 delivered late (queued offline, or a charger
   clock minutes slow) is either a meter that was replaced or reset (0 is true) or a meter that could
   not be read (0 is not a reading). `decide_start` weighs both against the evidence: the connector's
   last known register before the session (previous stop or sample), and the session's own readings.
   A hypothesis is *possible* when every reading could have been reached from its start at no more than
   the connector's maximum power. One possible hypothesis wins; when both are, the charger's 0 is kept
   and the session is flagged for review; no reading is ever thrown away.
2. Whether the result is physically possible (`check`): energy above what the connector's maximum
   power allows over the session's duration, negative registers, registers running backwards or
   jumping faster than the maximum power. Such sessions are flagged; `REVIEW_FLAGS` are held out of
   reimbursement and solar share until an operator confirms or corrects them.

Pure: no database, no clock. Times are datetimes, energies Wh, powers W.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

#: Used when the connector's maximum power is unknown: the most any public DC charger delivers today.
DEFAULT_MAX_POWER_W = 350_000.0
#: Meters, power limits and sampling are not exact: 10 % over the maximum is still plausible...
POWER_TOLERANCE = 1.10
#: ...and timestamps have a resolution of a second and are stamped when a message is built, not when
#: energy started flowing: a minute of slack on every interval keeps short sessions from false alarms.
TIME_SLACK_S = 60.0

# Flags an operator must look at: the session is held out of reimbursement and solar share.
START_ZERO_AMBIGUOUS = "start_zero_ambiguous"
EXCEEDS_MAX_POWER = "energy_exceeds_max_power"
NEGATIVE_REGISTER = "negative_register"
REGISTER_BACKWARDS = "register_backwards"
REGISTER_JUMP = "register_jump"
REVIEW_FLAGS = frozenset(
    {START_ZERO_AMBIGUOUS, EXCEEDS_MAX_POWER, NEGATIVE_REGISTER, REGISTER_BACKWARDS, REGISTER_JUMP}
)
# Informational: what the CSMS decided, shown to the operator, no hold.
START_FROM_PREVIOUS = "start_from_previous_register"
START_FROM_FIRST_SAMPLE = "start_from_first_sample"
START_ZERO_METER_RESET = "start_zero_meter_reset"


@dataclass(frozen=True, slots=True)
class Reading:
    """One energy register reading (Wh) at a moment."""

    at: datetime
    wh: float


@dataclass(frozen=True, slots=True)
class StartDecision:
    """The start register to compute energy from (None: nothing to start from) and why."""

    start_wh: float | None
    flags: frozenset[str] = field(default_factory=frozenset)


def allowance_wh(seconds: float, max_power_w: float) -> float:
    """The most energy a connector of `max_power_w` can plausibly deliver in `seconds`."""
    return max(max_power_w, 0.0) * (max(seconds, 0.0) + TIME_SLACK_S) / 3600.0 * POWER_TOLERANCE


def _possible_from(
    start_at: datetime, start_wh: float, points: Sequence[Reading], max_power_w: float
) -> bool:
    """Could every reading have been reached from `start_wh` at `start_at` at up to the maximum power?"""
    for point in points:
        gained = point.wh - start_wh
        if gained < 0 or gained > allowance_wh((point.at - start_at).total_seconds(), max_power_w):
            return False
    return True


def _monotone_from_first(points: Sequence[Reading], max_power_w: float) -> bool:
    return bool(points) and _possible_from(points[0].at, points[0].wh, points[1:], max_power_w)


def decide_start(
    reported_wh: float | None,
    *,
    late: bool,
    started_at: datetime,
    previous_wh: float | None,
    readings: Iterable[Reading],
    max_power_w: float = DEFAULT_MAX_POWER_W,
) -> StartDecision:
    """The start register of a session.

    `reported_wh`: the charger's start reading (None: it sent none). `late`: the start was queued
    offline or delivered late, so a 0 may be an unread meter. `previous_wh`: the connector's last
    register known before the session (previous stop or sample), if any. `readings`: the session's own
    register readings including its stop reading, any order.
    """
    points = sorted((r for r in readings if r.wh > 0), key=lambda r: r.at)
    if reported_wh is None:
        # No start reading: the transaction's first energy register is its start, whatever its context.
        return StartDecision(points[0].wh if points else None)
    if reported_wh != 0 or not late or not points:
        return StartDecision(reported_wh)
    # A late start register of 0: meter reset (0 is true) or unread meter (the register continued)?
    reset = _possible_from(started_at, 0.0, points, max_power_w)
    continued = (
        previous_wh is not None
        and previous_wh > 0
        and _possible_from(started_at, previous_wh, points, max_power_w)
    )
    if reset and not continued:
        flags = {START_ZERO_METER_RESET} if previous_wh else set()
        return StartDecision(0.0, frozenset(flags))
    if continued and not reset:
        return StartDecision(previous_wh, frozenset({START_FROM_PREVIOUS}))
    if not reset and not continued and _monotone_from_first(points, max_power_w):
        # Neither 0 nor the history fits, but the session's own readings are consistent: its first
        # reading is the earliest register known for it (energy before it is not counted).
        return StartDecision(points[0].wh, frozenset({START_FROM_FIRST_SAMPLE}))
    return StartDecision(0.0, frozenset({START_ZERO_AMBIGUOUS}))


def step_flag(before: Reading, after: Reading, max_power_w: float = DEFAULT_MAX_POWER_W) -> str | None:
    """What is wrong with a register's step from `before` to the later `after`: `REGISTER_BACKWARDS`
    (it fell: a reset or replaced meter), `REGISTER_JUMP` (it rose faster than the maximum power allows,
    `allowance_wh`), or None."""
    gained = after.wh - before.wh
    if gained < 0:
        return REGISTER_BACKWARDS
    if gained > allowance_wh((after.at - before.at).total_seconds(), max_power_w):
        return REGISTER_JUMP
    return None


def check(
    *,
    started_at: datetime,
    ended_at: datetime,
    start_wh: float | None,
    energy_wh: float,
    readings: Iterable[Reading],
    max_power_w: float = DEFAULT_MAX_POWER_W,
) -> frozenset[str]:
    """Review flags for a closed session: impossible energy, negative, backwards or jumping registers.

    `readings` are the session's register readings including its stop; zeros before the first real
    reading are the unread meter of an offline start (see `decide_start`) and are not judged.
    """
    flags: set[str] = set()
    ordered = sorted(readings, key=lambda r: r.at)
    if start_wh is not None and start_wh != 0:
        ordered = [r for r in ordered if r.wh != 0]  # an unread meter, not the register going to 0
    if start_wh is not None:
        ordered = [Reading(started_at, start_wh), *ordered]
    if any(r.wh < 0 for r in ordered) or energy_wh < 0:
        flags.add(NEGATIVE_REGISTER)
    for before, after in pairwise(ordered):
        flag = step_flag(before, after, max_power_w)
        if flag is not None:
            flags.add(flag)
    if energy_wh > allowance_wh((ended_at - started_at).total_seconds(), max_power_w):
        flags.add(EXCEEDS_MAX_POWER)
    return frozenset(flags)


def format_flags(flags: Iterable[str]) -> str:
    """Flags as stored: sorted, comma-separated ('' when none)."""
    return ",".join(sorted(set(flags)))


def parse_flags(text: str | None) -> frozenset[str]:
    return frozenset(part for part in (text or "").split(",") if part)


def needs_review(flags: Iterable[str]) -> bool:
    return any(flag in REVIEW_FLAGS for flag in flags)
