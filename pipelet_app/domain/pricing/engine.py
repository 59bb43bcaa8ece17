"""The price of one charging session from its meter readings.

Rules (docs/pricing.md is the long form):
- Energy between two readings is spread evenly over that interval, so an interval that straddles a
  window boundary is split by time. A register that goes down (meter reset) adds nothing.
- An interval that delivered energy is charging time (the time rate applies to it); idle time runs
  from the end of the last interval that delivered energy (or from the first reading if none did) to
  the session's end, and is billed per whole minute after the grace period.
- One rounding rule: each line is rounded once to the currency's minor unit, half up, from exact
  quantities (energy to the Wh, time to the second); the total is the sum of the printed lines.
- The charger's multiplier scales every rate and fee of the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from pipelet_app.domain.pricing.plan import amount
from pipelet_app.domain.pricing.schedule import Schedule

MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3}
ONE = Decimal(1)
_KWH = Decimal(1000)
_HOUR = Decimal(3600)

Reading = tuple[float, float]  # (epoch seconds, energy register in Wh)


class Line(NamedTuple):
    label: str
    amount: Decimal
    quantity: Decimal
    unit: str  # "kWh", "h", "min" or "session"


@dataclass(frozen=True)
class Price:
    total: Decimal
    currency: str
    lines: tuple[Line, ...]


def quantum(currency: str) -> Decimal:
    """The currency's minor unit (0.01 unless ISO 4217 says otherwise for the few we list)."""
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))


class Tariff:
    """A plan applied at one site: its zone (through the schedule) and its currency."""

    def __init__(self, schedule: Schedule, currency: str) -> None:
        if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
            raise ValueError(f"currency: an ISO 4217 code like EUR, got {currency!r}")
        self.schedule = schedule
        self.plan = schedule.plan
        self.currency = currency
        self.quantum = quantum(currency)
        self.tiers = self.plan.tiers

    def price(
        self, readings: Sequence[Reading], *, end: float | None = None, multiplier: Decimal = ONE
    ) -> Price:
        """Price readings sorted by time; `end` is when the car left (default: the last reading)."""
        if not readings:
            raise ValueError("readings: at least one meter reading is needed")
        if multiplier is not ONE:
            multiplier = amount(multiplier, "multiplier")
        wh, seconds, idle_from = self._split(readings)
        last_ts = readings[-1][0]
        end = last_ts if end is None else end
        if end < last_ts:
            raise ValueError("end: the session cannot end before its last meter reading")
        return self._lines(wh, seconds, end - idle_from, multiplier)

    def _split(self, readings: Sequence[Reading]) -> tuple[list[float], list[float], float]:
        """Wh and charging seconds per tier, and where idle time starts."""
        n = len(self.tiers)
        wh = [0.0] * n
        seconds = [0.0] * n
        first_ts = readings[0][0]
        idle_from = first_ts
        segments = self.schedule.segments(first_ts, readings[-1][0])
        k = 0
        prev_ts, prev_wh = readings[0]
        for ts, register in readings[1:]:
            if ts < prev_ts:
                raise ValueError("readings: timestamps must not go backwards")
            delta = register - prev_wh
            if delta > 0:
                idle_from = ts
                _, b, tier = segments[k]
                while b <= prev_ts and k + 1 < len(segments):
                    k += 1
                    _, b, tier = segments[k]
                if ts <= b:  # the usual case: the whole interval in one segment
                    wh[tier] += delta
                    seconds[tier] += ts - prev_ts
                else:
                    self._spread(segments, k, prev_ts, ts, delta, wh, seconds)
            prev_ts, prev_wh = ts, register
        return wh, seconds, idle_from

    @staticmethod
    def _spread(
        segments: list, k: int, t0: float, t1: float, delta: float, wh: list[float], seconds: list[float]
    ) -> None:
        """An interval crossing segment boundaries: its energy shared in proportion to time."""
        span = t1 - t0
        for a, b, tier in segments[k:]:
            overlap = min(t1, b) - max(t0, a)
            if overlap > 0:
                wh[tier] += delta * overlap / span
                seconds[tier] += overlap
            if b >= t1:
                break

    def _lines(self, wh: list[float], seconds: list[float], idle: float, multiplier: Decimal) -> Price:
        q = self.quantum
        plan = self.plan
        lines: list[Line] = []
        if plan.session_fee:
            fee = (plan.session_fee * multiplier).quantize(q, ROUND_HALF_UP)
            lines.append(Line("Session fee", fee, ONE, "session"))
        for (label, rate), energy, secs in zip(self.tiers, wh, seconds, strict=True):
            whole_wh = int(energy + 0.5)
            if whole_wh and rate.per_kwh:
                kwh = Decimal(whole_wh) / _KWH
                cost = (kwh * rate.per_kwh * multiplier).quantize(q, ROUND_HALF_UP)
                lines.append(Line(f"Energy ({label})", cost, kwh, "kWh"))
            whole_s = int(secs + 0.5)
            if whole_s and rate.per_hour:
                hours = Decimal(whole_s) / _HOUR
                cost = (hours * rate.per_hour * multiplier).quantize(q, ROUND_HALF_UP)
                lines.append(Line(f"Charging time ({label})", cost, hours.quantize(Decimal("0.0001")), "h"))
        billed = int(idle // 60) - plan.idle_grace_minutes
        if billed > 0 and plan.idle_fee_per_minute:
            minutes = Decimal(billed)
            cost = (minutes * plan.idle_fee_per_minute * multiplier).quantize(q, ROUND_HALF_UP)
            lines.append(Line("Idle fee", cost, minutes, "min"))
        total = sum((line.amount for line in lines), Decimal(0)).quantize(q)
        return Price(total, self.currency, tuple(lines))
