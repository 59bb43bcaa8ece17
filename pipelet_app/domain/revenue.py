"""An operator's revenue rolled up by site, month or charger. Pure: Decimal sums, no I/O.

Amounts of different currencies are never added: a group is (key, currency). `revenue` is the sum of
the sessions' final prices; `collected` what card payments captured; `shortfall` what the price
exceeded a card's hold by (owed, not collected). Sessions without a price count for energy only.
`energy_cost` is what the delivered energy cost the operator at the site's energy price (a site setting,
per kWh in the site's currency), over the sessions at sites that have one; `margin` is revenue minus it.
A group with sessions at sites without a price says so (`energy_cost_complete` false): an unknown cost is
not a cost of zero.
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
    energy_price: Decimal | None = None  # the site's energy price per kWh, if set
    transaction_id: str = ""  # for the drill-down to the sessions behind a figure

    @property
    def energy_cost(self) -> Decimal | None:
        if self.energy_price is None:
            return None
        return Decimal(round(self.energy_wh)) / 1000 * self.energy_price


@dataclass(frozen=True)
class Total:
    key: str
    currency: str
    sessions: int
    energy_kwh: Decimal
    revenue: Decimal
    collected: Decimal
    shortfall: Decimal
    energy_cost: Decimal = ZERO
    energy_cost_complete: bool = True

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.energy_cost


def rollup(rows: Iterable[SessionMoney], by: Group) -> list[Total]:
    """Totals per (group key, currency), sorted by key then currency."""
    acc: dict[tuple[str, str], list] = {}
    for row in rows:
        key = (getattr(row, by), row.currency)
        entry = acc.setdefault(key, [0, 0, ZERO, ZERO, ZERO, ZERO, True])
        entry[0] += 1
        entry[1] += round(row.energy_wh)
        entry[2] += row.price or ZERO
        entry[3] += row.collected
        entry[4] += row.shortfall
        cost = row.energy_cost
        entry[5] += cost if cost is not None else ZERO
        entry[6] = entry[6] and cost is not None
    return [
        Total(key, currency, n, Decimal(wh) / 1000, revenue, collected, shortfall, cost, complete)
        for (key, currency), (n, wh, revenue, collected, shortfall, cost, complete) in sorted(acc.items())
    ]


def members(rows: Iterable[SessionMoney], by: Group, key: str, currency: str) -> list[SessionMoney]:
    """The sessions behind one total (the drill-down), in the order given."""
    return [row for row in rows if getattr(row, by) == key and row.currency == currency]
