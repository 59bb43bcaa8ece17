"""Departure planning: how much grid power a car needs right now to be full when it leaves.

One rule serves both modes that may use the grid. The time until departure is cut into tariff slots
(the price series' slot length, 15 min by default); the energy still missing after the solar the
forecast expects (discounted by `forecast_safety`) is placed into the cheapest slots, and among equal
prices into the latest ones, so that the sun gets every chance first. Without a price series all slots
cost the same, which makes this "start the grid top-up as late as still works" (PV-priority). When the
current slot is one of those chosen, the car gets grid power now. If even charging at full power from
now on cannot meet the departure, it charges at full power now and says so.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

from pipelet_app.domain.surplus.model import PriceSeries

PLAN_MARGIN = 1.1  # plan 10 % more energy than missing: cars taper near full


@dataclass(frozen=True)
class Plan:
    """Grid-backed power for now (W, 0 = none needed) and why."""

    power_w: float
    reason: str
    slot_price: float | None = None


def price_at(prices: PriceSeries | None, epoch_s: float) -> float:
    """The price in force at a moment (0 without prices; infinite after the last published slot)."""
    if prices is None or not prices.points:
        return 0.0
    starts = [point.start_utc.timestamp() for point in prices.points]
    index = bisect_right(starts, epoch_s) - 1
    if index < 0:
        return prices.points[0].price_per_kwh
    last = index == len(starts) - 1
    if last and epoch_s >= starts[index] + prices.slot_s:
        return math.inf  # beyond the published prices: never prefer it over a known price
    return prices.points[index].price_per_kwh


def plan_departure(
    now_s: float,
    departure_s: float | None,
    need_wh: float,
    max_w: float,
    expected_solar_wh: float,
    safety: float,
    prices: PriceSeries | None = None,
) -> Plan:
    """The grid power this car needs now to meet its departure (see the module docstring)."""
    if departure_s is None or need_wh <= 0 or max_w <= 0:
        return Plan(0.0, "no departure to plan for")
    deficit_wh = (need_wh - safety * max(0.0, expected_solar_wh)) * PLAN_MARGIN
    if deficit_wh <= 0:
        return Plan(0.0, f"sun expected to cover the {need_wh / 1000:.1f} kWh still wanted")
    if departure_s <= now_s:
        return Plan(max_w, "departure time passed: charging at full power")
    slot_s = prices.slot_s if prices is not None else 900.0
    slots: list[tuple[float, float, float]] = []  # (price, start, duration)
    start = now_s
    while start < departure_s:
        boundary = (math.floor(start / slot_s) + 1) * slot_s
        end = min(boundary, departure_s)
        slots.append((price_at(prices, start), start, end - start))
        start = end
    capacity_wh = max_w * (departure_s - now_s) / 3600.0
    if capacity_wh <= deficit_wh:
        return Plan(max_w, "departure cannot be met even at full power: charging at full power")
    chosen_wh = 0.0
    for price, slot_start, duration in sorted(slots, key=lambda slot: (slot[0], -slot[1])):
        slot_wh = max_w * duration / 3600.0
        if slot_start == now_s:
            still_missing = deficit_wh - chosen_wh
            power = min(max_w, still_missing * 3600.0 / duration) if still_missing < slot_wh else max_w
            shown = "" if prices is None else f" at {price:.3f}/kWh"
            return Plan(
                power,
                f"grid top-up in this slot{shown} to meet the departure",
                None if prices is None else price,
            )
        chosen_wh += slot_wh
        if chosen_wh >= deficit_wh:
            break
    return Plan(0.0, f"grid top-up planned later for {deficit_wh / 1000:.1f} kWh")
