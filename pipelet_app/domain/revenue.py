"""An operator's revenue rolled up by site, month or charger. Pure: Decimal sums, no I/O.

Amounts of different currencies are never added: a group is (key, currency). `revenue` is the sum of
the sessions' final prices; `collected` what card payments captured; `shortfall` what the price
exceeded a card's hold by (owed, not collected). Sessions without a price count for energy only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Group = Literal["site", "month", "charger"]
ZERO = Decimal(0)


@dataclass(frozen=True)
class SessionMoney:
    site: str
    month: str  # YYYY-MM in the site's zone
    charger: str
    currency: str
    energy_wh: float
    price: Decimal | None
    collected: Decimal = ZERO
    shortfall: Decimal = ZERO


@dataclass(frozen=True)
class Total:
    key: str
    currency: str
    sessions: int
    energy_kwh: Decimal
    revenue: Decimal
    collected: Decimal
    shortfall: Decimal


def rollup(rows: Iterable[SessionMoney], by: Group) -> list[Total]:
    """Totals per (group key, currency), sorted by key then currency."""
    acc: dict[tuple[str, str], list] = {}
    for row in rows:
        key = (getattr(row, by), row.currency)
        entry = acc.setdefault(key, [0, 0, ZERO, ZERO, ZERO])
        entry[0] += 1
        entry[1] += round(row.energy_wh)
        entry[2] += row.price or ZERO
        entry[3] += row.collected
        entry[4] += row.shortfall
    return [
        Total(key, currency, n, Decimal(wh) / 1000, revenue, collected, shortfall)
        for (key, currency), (n, wh, revenue, collected, shortfall) in sorted(acc.items())
    ]
