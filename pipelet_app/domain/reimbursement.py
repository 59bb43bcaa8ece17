"""A driver's monthly reimbursement: energy by source times the fleet's rate for that source.

Money is Decimal and rounded to the cent once per line, half up, as on a printed statement; the total is
the sum of the printed lines, so the statement always adds up. PV-wallbox energy can be reimbursed at
its own rate, and a source without a rate is listed but pays nothing.

A session whose energy is not a finite number between 0 and MAX_SESSION_WH (1 MWh: no car takes more in
one session) is left out and counted in `excluded`, so one bad row (a typo'd import, a broken meter)
cannot stop a whole fleet's month; the fleet manager voids it and the draft is recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
SOURCES = ("ocpp-wallbox", "pv-inverter", "public")
MAX_SESSION_WH = 1_000_000.0


def plausible_energy_wh(energy_wh: float) -> bool:
    finite = isinstance(energy_wh, int | float) and math.isfinite(energy_wh)
    return finite and 0 <= energy_wh <= MAX_SESSION_WH


@dataclass(frozen=True)
class SessionEnergy:
    source: str
    energy_wh: float


@dataclass(frozen=True)
class StatementLine:
    source: str
    sessions: int
    energy_kwh: Decimal
    rate_per_kwh: Decimal | None
    amount: Decimal


@dataclass(frozen=True)
class Statement:
    lines: tuple[StatementLine, ...]
    total: Decimal
    currency: str
    excluded: int = 0  # sessions left out as implausible (see the module docstring)

    @property
    def energy_kwh(self) -> Decimal:
        return sum((line.energy_kwh for line in self.lines), Decimal(0))


def kwh_of(energy_wh: float) -> Decimal:
    """Wh → kWh with three decimals (1 Wh resolution), the unit statements print."""
    return (Decimal(str(energy_wh)) / 1000).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def compute_statement(
    sessions: Iterable[SessionEnergy], rates: Mapping[str, Decimal | None], currency: str = "EUR"
) -> Statement:
    counts = dict.fromkeys(SOURCES, 0)
    energy = dict.fromkeys(SOURCES, Decimal(0))
    excluded = 0
    for session in sessions:
        if session.source not in counts:
            raise ValueError(f"source: unknown source {session.source!r}")
        if not plausible_energy_wh(session.energy_wh):
            excluded += 1
            continue
        counts[session.source] += 1
        energy[session.source] += kwh_of(session.energy_wh)
    lines = []
    for source in SOURCES:
        rate = rates.get(source)
        if rate is not None and rate < 0:
            raise ValueError(f"rate: negative rate for {source}")
        amount = (
            (energy[source] * rate).quantize(CENT, rounding=ROUND_HALF_UP)
            if rate is not None
            else Decimal("0.00")
        )
        lines.append(StatementLine(source, counts[source], energy[source], rate, amount))
    total = sum((line.amount for line in lines), Decimal("0.00"))
    return Statement(tuple(lines), total, currency, excluded)
