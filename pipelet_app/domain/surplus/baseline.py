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
from collections.abc import Mapping

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
