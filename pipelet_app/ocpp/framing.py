"""OCPP-J frame parsing, independent of the `ocpp` library.

The library silently drops frames it cannot parse and inverts NotImplemented / NotSupported, so the CSMS
parses frames itself and decides which CallError (if any) goes back. Pure functions, no I/O: this is the
module the fuzz tests hammer.

Rules (OCPP-J 1.6 §4.2.3, OCPP 2.0.1 part 4 §4.2.3):
- a frame that is not JSON → FormatViolation, messageId "-1" (2.0.1 says "-1" when the id is unreadable);
- not an array, no readable messageId, wrong number of elements → RpcFrameworkError (1.6: ProtocolError);
- an unknown MessageTypeId → MessageTypeNotSupported (1.6: ProtocolError);
- a Call whose payload is not an object → FormatViolation;
- a frame larger than the size limit → FormatViolation when it is recognisably a Call, else dropped;
- a malformed CallResult / CallError is never answered (answering a response is not allowed): dropped.
1.6 spells two codes differently ("FormationViolation", "OccurenceConstraintViolation"); `error_code`
translates the 2.0.1 spelling used inside this package.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

CALL, CALLRESULT, CALLERROR = 2, 3, 4
UNKNOWN_ID = "-1"
MAX_UNIQUE_ID_LEN = 64  # the spec says 36; real chargers send longer ones, and refusing them helps nobody

_V16_CODES = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
    "RpcFrameworkError": "ProtocolError",
    "MessageTypeNotSupported": "ProtocolError",
}
_CALL_PREFIX = re.compile(r'^\s*\[\s*2\s*,\s*"([^"\\]{1,64})"')


def error_code(version: str, code: str) -> str:
    """The spelling of a CallError code in `version` ("1.6" or "2.0.1")."""
    if version == "1.6":
        return _V16_CODES.get(code, code)
    return code


@dataclass(frozen=True, slots=True)
class CallFrame:
    unique_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ResultFrame:
    unique_id: str
    payload: Any


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    unique_id: str
    code: str
    description: str
    details: Any


@dataclass(frozen=True, slots=True)
class RejectFrame:
    """The frame must be answered with a CallError (code in 2.0.1 spelling)."""

    unique_id: str
    code: str
    description: str


@dataclass(frozen=True, slots=True)
class DropFrame:
    """The frame is not answered; `reason` goes to the log."""

    reason: str


Frame = CallFrame | ResultFrame | ErrorFrame | RejectFrame | DropFrame


def parse_frame(raw: str | bytes, max_bytes: int) -> Frame:
    """Classify one WebSocket message. Never raises."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return RejectFrame(UNKNOWN_ID, "FormatViolation", "binary frame that is not UTF-8")
    if len(raw) > max_bytes and len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        match = _CALL_PREFIX.match(raw[:200])
        if match:
            return RejectFrame(match.group(1), "FormatViolation", f"message larger than {max_bytes} bytes")
        return DropFrame(f"oversize frame ({len(raw)} chars) that is not a recognisable Call")
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError):
        return RejectFrame(UNKNOWN_ID, "FormatViolation", "message is not valid JSON")
    if not isinstance(msg, list) or not msg:
        return RejectFrame(UNKNOWN_ID, "RpcFrameworkError", "message is not a non-empty JSON array")
    type_id = msg[0]
    unique_id = msg[1] if len(msg) > 1 and isinstance(msg[1], str) else None
    if unique_id is not None and not 0 < len(unique_id) <= MAX_UNIQUE_ID_LEN:
        unique_id = None
    if (
        isinstance(type_id, bool)
        or not isinstance(type_id, int)
        or type_id not in (CALL, CALLRESULT, CALLERROR)
    ):
        return RejectFrame(unique_id or UNKNOWN_ID, "MessageTypeNotSupported", f"MessageTypeId {type_id!r}")
    if type_id == CALL:
        return _parse_call(msg, unique_id)
    if unique_id is None:
        return DropFrame("response without a readable messageId")
    if type_id == CALLRESULT:
        if len(msg) != 3:
            return DropFrame("CallResult without exactly 3 elements")
        return ResultFrame(unique_id, msg[2])
    if len(msg) not in (4, 5) or not isinstance(msg[2], str):
        return DropFrame("malformed CallError")
    description = msg[3] if isinstance(msg[3], str) else ""
    return ErrorFrame(unique_id, msg[2], description, msg[4] if len(msg) == 5 else {})


def _parse_call(msg: list[Any], unique_id: str | None) -> Frame:
    if unique_id is None:
        return RejectFrame(UNKNOWN_ID, "RpcFrameworkError", "messageId is missing or not a string")
    if len(msg) != 4:
        return RejectFrame(unique_id, "RpcFrameworkError", "a Call has exactly 4 elements")
    action, payload = msg[2], msg[3]
    if not isinstance(action, str) or not action:
        return RejectFrame(unique_id, "RpcFrameworkError", "action is not a string")
    if not isinstance(payload, dict):
        return RejectFrame(unique_id, "FormatViolation", "payload is not a JSON object")
    return CallFrame(unique_id, action, payload)


def call_error(unique_id: str, code: str, description: str, details: dict[str, Any] | None = None) -> str:
    """Serialise a CallError (the code must already be in the connection's spelling)."""
    return json.dumps([CALLERROR, unique_id, code, description[:255], details or {}], separators=(",", ":"))


def call_result(unique_id: str, payload: dict[str, Any]) -> str:
    return json.dumps([CALLRESULT, unique_id, payload], separators=(",", ":"))


def call(unique_id: str, action: str, payload: dict[str, Any]) -> str:
    return json.dumps([CALL, unique_id, action, payload], separators=(",", ":"))
