"""What a pricing plan says: rates, fees and time-of-use windows, validated once when built.

Amounts are in the site's currency (a plan carries no currency of its own: the same plan can serve
several sites of one operator, and the site decides what the numbers mean). Every amount is a
non-negative Decimal, so no line of a price can be negative; a bad value raises ValueError naming the
field, which the API passes on as a 422.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal, InvalidOperation

WEEKDAYS = frozenset(range(7))  # 0 = Monday, as datetime.weekday()
# The largest rate, fee or multiplier: generous in any currency (a kWh costs a few thousand rupiah), and
# far below what overflows the money columns once multiplied by a session's energy (1e308 was accepted).
MAX_AMOUNT = Decimal(1_000_000)
MAX_GRACE_MINUTES = 1440  # a day: beyond that no idle fee would ever start (and 2**31 was accepted)


def amount(value: object, name: str) -> Decimal:
    """A Decimal from 0 to MAX_AMOUNT from a str/int/Decimal (never a float: 0.1 is not 0.1)."""
    if isinstance(value, float | bool):
        raise ValueError(f"{name}: give a decimal string, not a float")
    try:
        result = Decimal(value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"{name}: not a number: {value!r}") from None
    if not result.is_finite() or not 0 <= result <= MAX_AMOUNT:
        raise ValueError(f"{name}: must be a number from 0 to {MAX_AMOUNT:,}, got {value!r}")
    return result


@dataclass(frozen=True)
class Rate:
    """The price of energy and of charging time while a rate applies.

    `per_hour` is the time-based alternative (or addition) to the energy rate: some markets forbid
    selling kWh, and some operators price occupancy; it applies to the time energy flowed.
    """

    per_kwh: Decimal = Decimal(0)
    per_hour: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_kwh", amount(self.per_kwh, "per_kwh"))
        object.__setattr__(self, "per_hour", amount(self.per_hour, "per_hour"))


@dataclass(frozen=True)
class Window:
    """A time-of-use window in the site's wall-clock time.

    It starts on each of `weekdays` at `start` and ends at `end` the same day, or the next day when
    `end <= start` (22:00-06:00 is a night; 00:00-00:00 is the whole day). Where windows overlap, the
    highest `priority` wins; equal priorities go to the one listed first in the plan.
    """

    label: str
    rate: Rate
    start: time
    end: time
    weekdays: frozenset[int] = WEEKDAYS
    priority: int = 0

    def __post_init__(self) -> None:
        if not self.label or not self.label.strip():
            raise ValueError("label: a window needs a name (it is printed on receipts)")
        days = frozenset(self.weekdays)
        if not days or not days <= WEEKDAYS:
            raise ValueError("weekdays: give one or more of 0 (Monday) .. 6 (Sunday)")
        object.__setattr__(self, "weekdays", days)
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"{name}: a wall-clock time without zone (the site's zone applies)")


@dataclass(frozen=True)
class Plan:
    """A pricing plan: base rate, fees, and the windows that replace the base rate when they apply."""

    base: Rate = field(default_factory=Rate)
    session_fee: Decimal = Decimal(0)
    idle_fee_per_minute: Decimal = Decimal(0)
    idle_grace_minutes: int = 0
    windows: tuple[Window, ...] = ()
    base_label: str = "standard"

    def __post_init__(self) -> None:
        object.__setattr__(self, "session_fee", amount(self.session_fee, "session_fee"))
        object.__setattr__(
            self, "idle_fee_per_minute", amount(self.idle_fee_per_minute, "idle_fee_per_minute")
        )
        grace = self.idle_grace_minutes
        if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= MAX_GRACE_MINUTES:
            raise ValueError(f"idle_grace_minutes: a whole number of minutes from 0 to {MAX_GRACE_MINUTES}")
        object.__setattr__(self, "windows", tuple(self.windows))
        rates: dict[str, Rate] = {self.base_label: self.base}
        for window in self.windows:
            if rates.setdefault(window.label, window.rate) != window.rate:
                raise ValueError(f"windows: {window.label!r} is used with two different rates")

    @property
    def tiers(self) -> tuple[tuple[str, Rate], ...]:
        """(label, rate) per distinct label, base first: one price line per tier and kind."""
        tiers: dict[str, Rate] = {self.base_label: self.base}
        for window in self.windows:
            tiers.setdefault(window.label, window.rate)
        return tuple(tiers.items())
