"""The baseline every charger of a surplus site keeps: what it may give a car when the loop is not there.

Why: each charger carries the site's whole grid limit as its ChargePointMaxProfile (one car may take
all of it while the loop steers). With the loop dead (worker crash, lost lease, restart) or before it
first acts on a new transaction, N chargers would each be allowed the whole cap. So every connector
also keeps a TxDefaultProfile at its share of the cap; a new transaction starts there and only the
loop's TxProfile raises it (a TxProfile overrides the TxDefaultProfile for its transaction; the lowest
limit of all purposes still applies, so the ChargePointMaxProfile stays the hardware backstop).

The share is the safe limit per mode the loop falls back to on stale data (`actuation.safe_limit_a`:
PV-only pauses, the other modes keep the minimum), given to the connectors in order of their id while
their sum stays within the cap, and 0 A after that: a paused start is safe, an overload is not, and a
share between 0 and the minimum would pause the car anyway (IEC 61851). Every connector counts on
every phase: the baseline must hold for any car, a three-phase one or a single-phase one on any phase.
The house is not subtracted: its draw is unknown while the loop is away, and a baseline that followed
the last reading would be sent again with every kettle.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from pipelet_app.domain.surplus.actuation import safe_limit_a
from pipelet_app.domain.surplus.model import Mode


def id_order(charger_id: str) -> tuple[list[tuple[int, int | str]], str]:
    """Sort key that reads ids as an operator does: `CP-2/1` before `CP-10/1`, connector 2 before 10
    (digit runs compare as numbers; string order gave CP-10 the second share of ten). The id itself
    breaks ties (`CP-01` / `CP-1`), so the shares never depend on the order the connectors came in."""
    parts = [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", charger_id)]
    return parts, charger_id


def baseline_shares(min_a: Mapping[str, float], mode: Mode, grid_limit_a: float) -> dict[str, float]:
    """Each connector's baseline limit per phase (A), by connector id → its minimum current.

    The sum over all connectors never exceeds `grid_limit_a`, and no share lies between 0 and that
    connector's minimum. The same connectors, cap and mode always give the same shares, so the loop
    sends them once and again only when one of those changes."""
    shares: dict[str, float] = {}
    used = 0.0
    for charger_id in sorted(min_a, key=id_order):
        minimum = min_a[charger_id]
        share = safe_limit_a(mode, minimum)
        if share < minimum or used + share > grid_limit_a + 1e-9:
            share = 0.0
        shares[charger_id] = share
        used += share
    return shares


# --- The newcomer lift: an idle connector's default raised while the surplus would start a new car ---
#
# Why: in PV-only every baseline is 0 A (no measurement is no proof of surplus), so a car that locks its
# current when its session starts (older Renault Zoe) locks 0 A and may never charge that session, even in
# full sun. While the loop is alive with fresh data and the controller would start a newcomer now, each
# idle connector whose baseline is below its minimum gets a second TxDefaultProfile on stack level 1 at
# that minimum: the lift. A new car starts there (the highest stack level leads), the loop's TxProfile
# takes over at its next cycle. The lift carries the bounded `duration` of the loop's TxProfiles and is
# renewed like them, so with the loop dead it lapses and the stack-level-0 baseline leads again: PV-only
# starts paused again, and the sum of all defaults per phase is back at the baseline's.
# The minimum, not more: a car that locks its current keeps it for the session, and the minimum is the
# least it imports when the sun goes; a car that follows gets more from the TxProfile within a cycle.


def newcomer_starts(
    available_w: float, cars: Sequence[tuple[float, float, bool]], newcomer_min_w: float
) -> bool:
    """Would the controller start a new car now? As `share.pick` decides for a car ranked after the
    present ones: only while the cars it runs (`on`) could not take the whole surplus at their maximum,
    and the surplus carries every present car's minimum (running or waiting for sun) plus the
    newcomer's. `cars`: (minimum W, maximum W, on) of each car present that still wants energy."""
    min_sum = sum(min_w for min_w, _, _ in cars)
    max_sum = sum(max_w for _, max_w, on in cars if on)
    return max_sum < available_w and min_sum + newcomer_min_w <= available_w + 1e-9


def hold_lift(
    lifted: bool, starts: bool, low_since: datetime | None, now: datetime, hold_s: float
) -> tuple[bool, datetime | None]:
    """Hysteresis for the lift: on as soon as a newcomer would start; off once it would not for
    `hold_s` on end, so a passing cloud does not send two profiles per idle connector. Returns (lifted,
    since when a newcomer would not start while lifted)."""
    if starts:
        return True, None
    if not lifted:
        return False, None
    since = low_since or now
    if (now - since).total_seconds() >= hold_s:
        return False, None
    return True, since


def lift_shares(
    base: Mapping[str, float],
    idle: Collection[str],
    min_a: Mapping[str, float],
    running_a: Mapping[str, float],
    house_a: float,
    grid_limit_a: float,
    barred: Collection[str] = (),
) -> dict[str, float]:
    """The idle connectors lifted to their minimum (A per phase), in id order, each only while two sums
    stay within the cap on every phase (every connector counting on every phase, as the baseline does):

    - with the loop away: every connector's default, the baseline or its lift (the running cars'
      TxProfiles lapse to their baseline too);
    - now: the house, the running cars' decided limits and every idle connector's default, so a car
      that starts on a lift before the loop's next cycle does not take the site over its limit.

    `barred`: connectors not to lift (their baseline itself went on stack level 1, which a lift would
    replace)."""
    loop_away = sum(base.values())
    now = house_a + sum(running_a.values()) + sum(base[key] for key in idle)
    lifts: dict[str, float] = {}
    for key in sorted(idle, key=id_order):
        minimum = min_a[key]
        extra = minimum - base[key]
        if extra <= 0 or key in barred:
            continue
        if loop_away + extra > grid_limit_a + 1e-9 or now + extra > grid_limit_a + 1e-9:
            continue
        lifts[key] = minimum
        loop_away += extra
        now += extra
    return lifts
