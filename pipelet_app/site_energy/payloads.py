"""Pleevi-shaped MQTT payloads (docs: ../shared/design/interfaces.md, "MQTT"), checked field by field.

Every refusal is a `Refused` with a short machine reason (counted by the consumer) and a message that
names the field. Nothing here touches the database: the asset look-up is the caller's.

The consumer parses a payload once (`document`) and hands the dict to `asset_of` and `measurement` /
`transaction`. This is the per-message hot path of the ingestion (benchmarks/site_energy), hence orjson
(which also refuses NaN and Infinity, so those are `invalid-json`) and small caches for the topic and
timestamp strings, which repeat: one topic per site, one timestamp per sending cycle.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

TOPIC = re.compile(r"^pipelet/sites/(?P<site>[0-9]{1,12})/(?P<kind>measurements|transactions)$")
TRANSACTION_STATES = ("Started", "Updated", "SuspendedEV", "Ended")
CURRENT_TYPES = ("ac", "dc")
PHASES = {"1Phase": 1, "2Phase": 2, "3Phase": 3}
#: more than 5 MW at one asset of a site is a unit mix-up (kW taken for W)
MAX_POWER_W = 5_000_000.0
MAX_ENERGY_WH = 1e12


class Refused(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Measurement:
    asset_id: str
    ts: datetime
    energy_wh: float
    power_w: float
    soc: float | None


@dataclass(frozen=True, slots=True)
class Transaction:
    asset_id: str
    transaction_id: str
    ts: datetime
    state: str
    start: datetime
    stop: datetime | None
    current_type: str | None
    phases: int | None
    used_pins: str | None
    max_power_w: float | None
    requested_min_wh: float | None
    requested_max_wh: float | None
    departure: datetime | None
    priority: int | None
    profile_id: str | None


@lru_cache(maxsize=65536)
def parse_topic(topic: str) -> tuple[int, str]:
    """(site id, measurements|transactions); cached per topic (a refused topic is not cached)."""
    match = TOPIC.match(topic)
    if match is None:
        raise Refused(
            "bad-topic", f"topic {topic!r}: expected pipelet/sites/<site id>/measurements|transactions"
        )
    return int(match["site"]), match["kind"]


def document(raw: bytes) -> dict[str, Any]:
    """The payload as a JSON object, parsed once per message."""
    try:
        doc = orjson.loads(raw)
    except ValueError:  # orjson.JSONDecodeError, including bad UTF-8
        raise Refused("invalid-json", "payload: not a JSON document") from None
    if not isinstance(doc, dict):
        raise Refused("invalid-json", "payload: expected a JSON object")
    return doc


def _required(doc: dict[str, Any], name: str) -> Any:
    if doc.get(name) is None:
        raise Refused("missing-field", f"{name}: missing")
    return doc[name]


def _text(doc: dict[str, Any], name: str, required: bool = True, limit: int = 100) -> str | None:
    value = _required(doc, name) if required else doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise Refused("wrong-type", f"{name}: expected a non-empty string of at most {limit} characters")
    return value


def _number(doc: dict[str, Any], name: str, required: bool = True) -> float | None:
    value = doc.get(name)
    if type(value) is float:  # the common case first; orjson yields no NaN or Infinity
        return value
    if value is None:
        if required:
            raise Refused("missing-field", f"{name}: missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Refused("wrong-type", f"{name}: expected a number, got {type(value).__name__}")
    return float(value)


def _time(doc: dict[str, Any], name: str, required: bool = True) -> datetime | None:
    value = _required(doc, name) if required else doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused("wrong-type", f"{name}: expected an ISO 8601 time string")
    try:
        return _parse_time(value)
    except Refused as refused:
        raise Refused(refused.reason, f"{name}: {refused.message}") from None


@lru_cache(maxsize=4096)
def _parse_time(value: str) -> datetime:
    """An aware datetime; cached, as every asset of a sending cycle carries the same timestamp string
    (a refused string is not cached)."""
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Refused("bad-timestamp", f"{value!r} is not an ISO 8601 time") from None
    if ts.tzinfo is None:
        raise Refused("bad-timestamp", f"{value!r} has no UTC offset")
    return ts


def _unit(doc: dict[str, Any], name: str, expected: str) -> None:
    """Pleevi values are Wh and W; a sender that names another unit is refused, not converted."""
    unit = doc.get(name)
    if unit is not None and unit != expected:
        raise Refused("wrong-unit", f"{name}: {unit!r}, expected {expected!r}")


def measurement(doc: dict[str, Any], kind: str) -> Measurement:
    """A measurement of an asset of `kind` (pv, grid, battery, charger, load), from `document`."""
    asset_id = _text(doc, "assetId")
    ts = _time(doc, "timestamp")
    energy = _number(doc, "energyValue")
    power = _number(doc, "powerValue")
    soc = _number(doc, "currentStateOfCharge", required=False)
    _unit(doc, "energyUnit", "Wh")
    _unit(doc, "powerUnit", "W")
    assert asset_id is not None and ts is not None and energy is not None and power is not None
    if abs(power) > MAX_POWER_W:
        raise Refused("wrong-unit", f"powerValue: {power:g} W is not plausible for one asset (unit?)")
    if not 0 <= energy <= MAX_ENERGY_WH:
        raise Refused("wrong-unit", f"energyValue: {energy:g} Wh is outside 0..1e12 (unit?)")
    if kind in ("pv", "charger", "load") and power < 0:
        raise Refused("wrong-unit", f"powerValue: a {kind} asset reports {power:g} W; expected >= 0")
    if soc is not None and not 0 <= soc <= 100:
        raise Refused("wrong-unit", f"currentStateOfCharge: {soc:g} is outside 0..100 (percent)")
    return Measurement(asset_id, ts, energy, power, soc)


def asset_of(doc: dict[str, Any]) -> str:
    """The assetId alone, to look up the asset's kind before the kind-specific checks."""
    asset_id = _text(doc, "assetId")
    assert asset_id is not None
    return asset_id


def transaction(doc: dict[str, Any]) -> Transaction:
    """A Pleevi transaction message, from `document`."""
    state = _text(doc, "transactionState")
    if state not in TRANSACTION_STATES:
        raise Refused(
            "wrong-type", f"transactionState: {state!r} is not one of {', '.join(TRANSACTION_STATES)}"
        )
    current_type = _text(doc, "type", required=False)
    if current_type is not None and current_type.lower() not in CURRENT_TYPES:
        raise Refused("wrong-type", f"type: {current_type!r} is not ac or dc")
    phases = _text(doc, "noChargingPhases", required=False)
    if phases is not None and phases not in PHASES:
        raise Refused("wrong-type", f"noChargingPhases: {phases!r} is not 1Phase, 2Phase or 3Phase")
    priority = _number(doc, "priority", required=False)
    if priority is not None and (priority != int(priority) or not 0 <= priority <= 10):
        raise Refused("wrong-type", "priority: expected an integer 0..10 (0 highest)")
    numbers = {
        n: _number(doc, n, required=False) for n in ("maxPower", "requestedMinEnergy", "requestedMaxEnergy")
    }
    for name, value in numbers.items():
        if value is not None and not 0 <= value <= (MAX_POWER_W if name == "maxPower" else MAX_ENERGY_WH):
            raise Refused("wrong-unit", f"{name}: {value:g} is out of range (W / Wh)")
    pins = doc.get("usedChargingPins")
    if pins is not None and not isinstance(pins, str | list):
        raise Refused("wrong-type", "usedChargingPins: expected a string or a list")
    start = _time(doc, "startTime")
    stop = _time(doc, "stopTime", required=False)
    if stop is not None and start is not None and stop < start:
        raise Refused("bad-timestamp", "stopTime: before startTime")
    profile = doc.get("profileId")
    return Transaction(
        asset_id=_text(doc, "assetId") or "",
        transaction_id=_text(doc, "transactionId") or "",
        ts=_time(doc, "timestamp"),  # type: ignore[arg-type]
        state=state,
        start=start,  # type: ignore[arg-type]
        stop=stop,
        current_type=current_type.lower() if current_type else None,
        phases=PHASES[phases] if phases else None,
        used_pins=json.dumps(pins) if isinstance(pins, list) else pins,
        max_power_w=numbers["maxPower"],
        requested_min_wh=numbers["requestedMinEnergy"],
        requested_max_wh=numbers["requestedMaxEnergy"],
        departure=_time(doc, "estimatedDepartureTime", required=False),
        priority=int(priority) if priority is not None else None,
        profile_id=None if profile is None else str(profile)[:100],
    )
