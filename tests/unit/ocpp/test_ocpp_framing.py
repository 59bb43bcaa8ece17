"""The OCPP-J frame classifier: which CallError (or drop) each kind of broken frame gets."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelet_app.ocpp import framing
from pipelet_app.ocpp.framing import CallFrame, DropFrame, ErrorFrame, RejectFrame, ResultFrame, parse_frame

LIMIT = 65536


def test_valid_frames() -> None:
    assert parse_frame('[2,"a","Heartbeat",{}]', LIMIT) == CallFrame("a", "Heartbeat", {})
    assert parse_frame(b'[3,"b",{"x":1}]', LIMIT) == ResultFrame("b", {"x": 1})
    assert parse_frame('[4,"c","GenericError","oops",{"k":1}]', LIMIT) == ErrorFrame(
        "c", "GenericError", "oops", {"k": 1}
    )
    # Some chargers omit the details object of a CallError.
    assert parse_frame('[4,"c","GenericError","oops"]', LIMIT) == ErrorFrame("c", "GenericError", "oops", {})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("nope", RejectFrame("-1", "FormatViolation", "message is not valid JSON")),
        (b"\xff\xfe", RejectFrame("-1", "FormatViolation", "binary frame that is not UTF-8")),
        ("{}", RejectFrame("-1", "RpcFrameworkError", "message is not a non-empty JSON array")),
        ("[]", RejectFrame("-1", "RpcFrameworkError", "message is not a non-empty JSON array")),
        ('[true,"x","A",{}]', RejectFrame("x", "MessageTypeNotSupported", "MessageTypeId True")),
        ('[5,"x"]', RejectFrame("x", "MessageTypeNotSupported", "MessageTypeId 5")),
        ('["2","x","A",{}]', RejectFrame("x", "MessageTypeNotSupported", "MessageTypeId '2'")),
        ("[2]", RejectFrame("-1", "RpcFrameworkError", "messageId is missing or not a string")),
        ('[2,"",  "A",{}]', RejectFrame("-1", "RpcFrameworkError", "messageId is missing or not a string")),
        ('[2,"x","A",{},1]', RejectFrame("x", "RpcFrameworkError", "a Call has exactly 4 elements")),
        ('[2,"x",7,{}]', RejectFrame("x", "RpcFrameworkError", "action is not a string")),
        ('[2,"x","A",null]', RejectFrame("x", "FormatViolation", "payload is not a JSON object")),
        ("[3,5,{}]", DropFrame("response without a readable messageId")),
        ('[3,"x"]', DropFrame("CallResult without exactly 3 elements")),
        ('[4,"x",5,"d",{}]', DropFrame("malformed CallError")),
    ],
)
def test_broken_frames(raw: str | bytes, expected: object) -> None:
    assert parse_frame(raw, LIMIT) == expected


def test_oversize_call_is_rejected_with_its_id_and_other_oversize_frames_dropped() -> None:
    big = "x" * 100
    assert parse_frame(json.dumps([2, "id-9", "DataTransfer", {"data": big}]), 50) == RejectFrame(
        "id-9", "FormatViolation", "message larger than 50 bytes"
    )
    assert isinstance(parse_frame(json.dumps([3, "id-9", {"data": big}]), 50), DropFrame)


def test_deeply_nested_json_does_not_crash() -> None:
    assert isinstance(parse_frame("[" * 100000 + "]" * 100000, 10**7), RejectFrame)


def test_v16_spelling_of_codes() -> None:
    assert framing.error_code("1.6", "FormatViolation") == "FormationViolation"
    assert framing.error_code("1.6", "OccurrenceConstraintViolation") == "OccurenceConstraintViolation"
    assert framing.error_code("1.6", "MessageTypeNotSupported") == "ProtocolError"
    assert framing.error_code("2.0.1", "FormatViolation") == "FormatViolation"
    assert framing.error_code("1.6", "NotImplemented") == "NotImplemented"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200), json_values.map(json.dumps)))
def test_never_raises_and_rejections_carry_a_usable_id(raw: str | bytes) -> None:
    frame = parse_frame(raw, 150)
    if isinstance(frame, RejectFrame):
        assert isinstance(frame.unique_id, str) and frame.unique_id
        # The CallError we would send is itself a valid frame.
        sent = json.loads(framing.call_error(frame.unique_id, frame.code, frame.description))
        assert sent[0] == 4 and len(sent) == 5


@settings(max_examples=500, deadline=None)
@given(
    st.text(min_size=1, max_size=36),
    st.text(min_size=1, max_size=30),
    st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)
def test_calls_round_trip(unique_id: str, action: str, payload: dict) -> None:
    assert parse_frame(framing.call(unique_id, action, payload), 10**6) == CallFrame(
        unique_id, action, payload
    )
