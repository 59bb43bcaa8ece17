"""What a charger's screen is told about the price: pure, no I/O.

Two wire formats carry it, both built here from the same numbers (docs/pricing.md §On the charger):

- OCPP 2.0.1 `SetDisplayMessage` (O01): a text message tied to the transaction, one message id per
  transaction so each update replaces the last (O06).
- OCPP 1.6 DataTransfer, vendorId `org.openchargealliance.costmsg`, as the OCA whitepaper "OCPP &
  California Pricing Requirements" defines it (field names checked against two station implementations:
  EVerest libocpp `doc/california_pricing_requirements.md` and MicroOcpp
  `src/MicroOcpp/Operations/DataTransfer{RunningCost,FinalCost,SetUserPrice}.cpp`). `data` is a JSON
  *string* (1.6 DataTransfer.data is a string):
  - `SetUserPrice` {idToken, priceText}: the driver's tariff, after authorisation;
  - `RunningCost` {transactionId, timestamp, meterValue (Wh, integer), cost, state "Charging"|"Idle",
    chargingPrice {kWhPrice, hourPrice, flatFee}, idlePrice {graceMinutes, hourPrice}};
  - `FinalCost` {transactionId, cost, priceText, qrCodeText}.
  Prices are numbers in the site's currency (the whitepaper has no currency field; the station's
  `DefaultPrice` configuration names it).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pipelet_app.domain.pricing.engine import quantum
from pipelet_app.domain.pricing.plan import Plan, Rate
from pipelet_app.domain.pricing.schedule import Schedule

VENDOR_ID = "org.openchargealliance.costmsg"
CONTENT_MAX = 512  # MessageContentType.content, 2.0.1
RUNNING_COST_MESSAGE_BASE = 700_000_000  # display message ids we use: base + transaction number


def rate_at(schedule: Schedule, ts: float) -> Rate:
    """The rate in force at an instant (the window that applies, else the base rate)."""
    for start, end, tier in schedule.day(schedule.local_day(ts)):
        if start <= ts < end:
            return schedule.plan.tiers[tier][1]
    return schedule.plan.base


def _money(value: Decimal, currency: str) -> str:
    """Printed with the engine's one rounding rule: half up to the currency's unit."""
    return f"{value.quantize(quantum(currency), rounding=ROUND_HALF_UP)} {currency}"


def _number(value: Decimal) -> float:
    return float(value)


def rate_text(rate: Rate, plan: Plan, multiplier: Decimal, currency: str) -> str:
    """The rate in force in words: '0.44 EUR/kWh, 0.50 EUR per session'."""
    parts = [f"{_money(rate.per_kwh * multiplier, currency)}/kWh"]
    if rate.per_hour:
        parts.append(f"{_money(rate.per_hour * multiplier, currency)}/h")
    if plan.session_fee:
        parts.append(f"{_money(plan.session_fee * multiplier, currency)} per session")
    if plan.idle_fee_per_minute:
        idle = _money(plan.idle_fee_per_minute * multiplier, currency)
        parts.append(f"idle {idle}/min after {plan.idle_grace_minutes} min")
    return ", ".join(parts)


def running_text(cost: Decimal, energy_wh: float, rate: str, currency: str) -> str:
    text = f"Cost so far: {_money(cost, currency)} for {energy_wh / 1000:.2f} kWh ({rate})"
    return text[:CONTENT_MAX]


def set_display_message(transaction_id: str, number: int, text: str) -> dict[str, Any]:
    """SetDisplayMessageRequest: the running cost on the screen of the transaction's EVSE."""
    return {
        "message": {
            "id": RUNNING_COST_MESSAGE_BASE + number % 100_000_000,
            "priority": "InFront",
            "transactionId": transaction_id,
            "message": {"format": "UTF8", "content": text[:CONTENT_MAX]},
        }
    }


def _data_transfer(message_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"vendorId": VENDOR_ID, "messageId": message_id, "data": json.dumps(data, separators=(",", ":"))}


def set_user_price(id_token: str, price_text: str) -> dict[str, Any]:
    return _data_transfer("SetUserPrice", {"idToken": id_token, "priceText": price_text[:CONTENT_MAX]})


def running_cost(
    transaction_id: int,
    at: datetime,
    meter_wh: float,
    cost: Decimal,
    rate: Rate,
    plan: Plan,
    multiplier: Decimal,
    charging: bool = True,
) -> dict[str, Any]:
    """RunningCost: the cost so far and the prices in force now (the charger's multiplier applied)."""
    data: dict[str, Any] = {
        "transactionId": transaction_id,
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "meterValue": int(meter_wh),
        "cost": _number(cost),
        "state": "Charging" if charging else "Idle",
        "chargingPrice": {
            "kWhPrice": _number(rate.per_kwh * multiplier),
            "hourPrice": _number(rate.per_hour * multiplier),
            "flatFee": _number(plan.session_fee * multiplier),
        },
    }
    if plan.idle_fee_per_minute:
        data["idlePrice"] = {
            "graceMinutes": plan.idle_grace_minutes,
            "hourPrice": _number(plan.idle_fee_per_minute * 60 * multiplier),
        }
    return _data_transfer("RunningCost", data)


def final_cost(transaction_id: int, cost: Decimal, currency: str, qr_text: str = "") -> dict[str, Any]:
    data = {
        "transactionId": transaction_id,
        "cost": _number(cost),
        "priceText": f"Total: {_money(cost, currency)}",
        "qrCodeText": qr_text,
    }
    return _data_transfer("FinalCost", data)
