"""Requests split to a station's ItemsPerMessage / BytesPerMessage (`ocpp/message_limits.py`)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.ocpp.message_limits import join, limit_query, split


def frame_bytes(action: str, payload: dict) -> int:
    return len(
        json.dumps([2, "00000000-0000-0000-0000-000000000000", action, payload], separators=(",", ":"))
    )


def get_data(names: list[str]) -> dict:
    return {"getVariableData": [{"component": {"name": "C"}, "variable": {"name": n}} for n in names]}


def test_five_variables_with_four_per_message_go_as_four_and_one() -> None:
    parts = split("GetVariables", get_data(list("abcde")), 4, None)
    assert [len(p["getVariableData"]) for p in parts] == [4, 1]


def test_other_fields_are_kept_and_one_element_is_never_split() -> None:
    parts = split("ClearVariableMonitoring", {"id": [1, 2, 3, 4, 5]}, 3, None)
    assert parts == [{"id": [1, 2, 3]}, {"id": [4, 5]}]
    assert split("ClearVariableMonitoring", {"id": [7]}, 1, 10) == [{"id": [7]}]
    assert split("GetVariables", get_data(list("ab")), None, None) == [get_data(list("ab"))]


@given(
    names=st.lists(st.text(min_size=1, max_size=30), min_size=0, max_size=40),
    items=st.none() | st.integers(1, 10),
    max_bytes=st.none() | st.integers(50, 2000),
)
def test_split_keeps_every_element_once_in_order_within_both_limits(
    names: list[str], items: int | None, max_bytes: int | None
) -> None:
    payload = get_data(names)
    parts = split("GetVariables", payload, items, max_bytes)
    assert [e for p in parts for e in p["getVariableData"]] == payload["getVariableData"]
    for part in parts:
        count = len(part["getVariableData"])
        if count > 1:  # a single element goes alone, whatever its size
            assert items is None or count <= items
            assert max_bytes is None or frame_bytes("GetVariables", part) <= max_bytes


def test_join_concatenates_results_in_order() -> None:
    answers = [{"clearMonitoringResult": [{"id": 1}, {"id": 2}]}, {"clearMonitoringResult": [{"id": 3}]}]
    assert join("ClearVariableMonitoring", answers) == {
        "clearMonitoringResult": [{"id": 1}, {"id": 2}, {"id": 3}]
    }


def test_limit_query_asks_for_both_limits_of_the_action() -> None:
    query = limit_query("ClearVariableMonitoring")["getVariableData"]
    assert [(q["component"]["name"], q["variable"]["name"], q["variable"]["instance"]) for q in query] == [
        ("MonitoringCtrlr", "ItemsPerMessage", "ClearVariableMonitoring"),
        ("MonitoringCtrlr", "BytesPerMessage", "ClearVariableMonitoring"),
    ]
