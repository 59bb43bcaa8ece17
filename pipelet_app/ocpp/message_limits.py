"""How many elements a 2.0.1 station takes in one request, and requests split to fit.

A station reports per message type `ItemsPerMessage` and `BytesPerMessage` (variable instance = the
action) on `DeviceDataCtrlr` (GetVariables, SetVariables) or `MonitoringCtrlr` (SetVariableMonitoring,
ClearVariableMonitoring); the CSMS SHALL NOT send more (B06.FR.05, B05.FR.xx, N04/N06: TC_B_08, TC_N_18).
An operator's request with more is sent as several, each as large as both limits allow, and the
answers' result lists are joined in order. `split` and `join` are pure; `known_limits` reads the device
model (`device_model`), where GetVariables answers and NotifyReport put these values.

One element larger than BytesPerMessage on its own is still sent, alone: nothing smaller exists, and the
station's answer (a CallError or a per-element status) is the operator's to see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from pipelet_app.db.models import DeviceVariable

# The frame around a payload: [2,"<uuid4>","<Action>",<payload>] (36-character ids are what we send).
_FRAME_OVERHEAD = len('[2,"00000000-0000-0000-0000-000000000000","",]')


@dataclass(frozen=True, slots=True)
class Limited:
    """A request with a list that the station's limits apply to."""

    component: str  # where the station reports the limits
    list_key: str  # the request's list
    result_key: str  # the answer's list


LIMITED: dict[str, Limited] = {
    "GetVariables": Limited("DeviceDataCtrlr", "getVariableData", "getVariableResult"),
    "SetVariables": Limited("DeviceDataCtrlr", "setVariableData", "setVariableResult"),
    "SetVariableMonitoring": Limited("MonitoringCtrlr", "setMonitoringData", "setMonitoringResult"),
    "ClearVariableMonitoring": Limited("MonitoringCtrlr", "id", "clearMonitoringResult"),
}

ITEMS, BYTES = "ItemsPerMessage", "BytesPerMessage"


def _size(action: str, payload: dict[str, Any]) -> int:
    return len(action) + _FRAME_OVERHEAD + len(json.dumps(payload, separators=(",", ":")).encode())


def split(
    action: str, payload: dict[str, Any], items: int | None, max_bytes: int | None
) -> list[dict[str, Any]]:
    """`payload` as consecutive requests of at most `items` elements and `max_bytes` per frame (None: no
    limit); every element appears once, in order, and each request keeps the payload's other fields."""
    key = LIMITED[action].list_key
    elements = list(payload.get(key) or [])
    if len(elements) <= 1 or (items is None and max_bytes is None):
        return [payload]
    parts: list[dict[str, Any]] = []
    current: list[Any] = []
    for element in elements:
        candidate = {**payload, key: [*current, element]}
        too_many = items is not None and len(current) + 1 > items
        too_big = max_bytes is not None and _size(action, candidate) > max_bytes
        if current and (too_many or too_big):
            parts.append({**payload, key: current})
            current = [element]
        else:
            current.append(element)
    parts.append({**payload, key: current})
    return parts


def join(action: str, answers: list[dict[str, Any]]) -> dict[str, Any]:
    """One answer from the answers to the parts: the result lists joined in request order."""
    if len(answers) == 1:
        return answers[0]
    key = LIMITED[action].result_key
    return {key: [result for answer in answers for result in answer.get(key) or []]}


def limit_query(action: str) -> dict[str, Any]:
    """The GetVariables that asks a station for its limits on `action`."""
    component = {"name": LIMITED[action].component}
    return {
        "getVariableData": [
            {"component": component, "variable": {"name": name, "instance": action}}
            for name in (ITEMS, BYTES)
        ]
    }


def _positive(value: str | None) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def known_limits(db: Session, charger_id: int, action: str) -> tuple[int | None, int | None, bool]:
    """(items, bytes, known): the station's reported limits for `action`; `known` is False when it
    reported neither as a positive number (then ask it, `limit_query`)."""
    rows = db.exec(
        select(DeviceVariable.variable, DeviceVariable.value).where(
            DeviceVariable.charger_id == charger_id,
            DeviceVariable.component == LIMITED[action].component,
            DeviceVariable.variable_instance == action,
            DeviceVariable.attribute_type == "Actual",
            DeviceVariable.variable.in_((ITEMS, BYTES)),  # type: ignore[attr-defined]
        )
    ).all()
    values = {name: value for name, value in rows}
    items, max_bytes = _positive(values.get(ITEMS)), _positive(values.get(BYTES))
    # A reported 0 or junk is no limit at all (the spec's values are positive): asked again next time.
    return items, max_bytes, items is not None or max_bytes is not None
