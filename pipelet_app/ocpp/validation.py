"""Schema validation with the official JSON schemas shipped in the `ocpp` package.

We use the library's schema files but not its validator cache, which ignores `parse_float` (so after
any float-parsed lookup of SetChargingProfile, the Decimal path crashes with a TypeError), and we map
violations to CallError codes ourselves: the library reports a missing required field as
ProtocolError and an out-of-range value as FormatViolation in both versions, whereas 2.0.1 has
OccurrenceConstraintViolation / PropertyConstraintViolation for them. Action names are checked before
they become file names.

The schemas bound few numbers, and JSON allows 1e306 (or, in Python's parser, NaN and Infinity). After
the schema, `check_numbers` refuses any number that is not finite or beyond ±MAX_ABS_NUMBER, and the same
for 1.6's numeric strings (`sampledValue.value`), with PropertyConstraintViolation naming the field: an
absurd meter value gets a proper CallError, never an InternalError or an infinite session downstream.
"""

from __future__ import annotations

import decimal
import json
import math
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
import ocpp
from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.exceptions import best_match

from pipelet_app.errors import field_path
from pipelet_app.ocpp.errors import CallRejected

_SCHEMA_ROOT = Path(ocpp.__file__).resolve().parent
_ACTION_NAME = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")

# 1.6 schemas of these messages carry `multipleOf: 0.1`, which binary floats fail (21.4 → 21.3999…).
_DECIMAL_ACTIONS_16 = {"SetChargingProfile", "RemoteStartTransaction", "GetCompositeSchedule"}

MAX_ABS_NUMBER = 1e12  # 1 TWh in Wh: no meter, limit or id of a charger comes near it

_PROPERTY_VALIDATORS = {
    "enum",
    "maxLength",
    "minLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "pattern",
    "multipleOf",
    "maxItems",
    "minItems",
    "uniqueItems",
}


def _code_for(error: SchemaError, version: str) -> str:
    return _code_for_rule(str(error.validator), version)


def _code_for_rule(rule: str, version: str) -> str:
    if rule == "required":
        return "ProtocolError" if version == "1.6" else "OccurrenceConstraintViolation"
    if rule == "type":
        return "TypeConstraintViolation"
    if rule in _PROPERTY_VALIDATORS:
        return "PropertyConstraintViolation"
    return "FormatViolation"


@lru_cache(maxsize=512)
def _fast_validator(message_type: int, action: str, version: str) -> Callable[[Any], Any]:
    """The same schema compiled to Python by fastjsonschema: ~60x faster than jsonschema on the hot path.

    `date-time` is not checked here: chargers send zone-less timestamps, which `timefmt.parse_utc`
    accepts as UTC and which the handlers parse anyway (a garbage one is a FormatViolation there).
    """
    if not _ACTION_NAME.fullmatch(action) or version not in ("1.6", "2.0.1"):
        raise FileNotFoundError(action)
    suffix = "Response" if message_type == 3 else ("" if version == "1.6" else "Request")
    path = _SCHEMA_ROOT / f"v{version.replace('.', '')}" / "schemas" / f"{action}{suffix}.json"
    schema = json.loads(path.read_text(encoding="utf-8-sig"))
    return fastjsonschema.compile(schema, formats={"date-time": lambda value: True}, use_default=False)


@lru_cache(maxsize=512)
def _validator(message_type: int, action: str, version: str, use_decimal: bool) -> Draft4Validator:
    if not _ACTION_NAME.fullmatch(action) or version not in ("1.6", "2.0.1"):
        raise FileNotFoundError(action)
    suffix = "Response" if message_type == 3 else ("" if version == "1.6" else "Request")
    path = _SCHEMA_ROOT / f"v{version.replace('.', '')}" / "schemas" / f"{action}{suffix}.json"
    schema = json.loads(
        path.read_text(encoding="utf-8-sig"), parse_float=decimal.Decimal if use_decimal else float
    )
    return Draft4Validator(schema)


def schema_exists(version: str, action: str) -> bool:
    try:
        _validator(2, action, version, False)
    except (OSError, ValueError):
        return False
    return True


def _bad_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) > MAX_ABS_NUMBER
    if isinstance(value, float | decimal.Decimal):
        return not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER
    return False


def _bad_numeric_string(value: Any) -> bool:
    """A numeric string beyond the bound ('1e306', 'inf'); other text is the handler's business."""
    if not isinstance(value, str):
        return False
    try:
        number = float(value)
    except ValueError:
        return False
    return not math.isnan(number) and abs(number) > MAX_ABS_NUMBER


def check_numbers(payload: Any, path: str = "") -> None:
    """Raise PropertyConstraintViolation for the first number out of bounds, naming its path
    (`meterValue[0].sampledValue[1].value`, as errors.field_path writes one)."""
    stack: list[tuple[str, Any, str]] = [(path, payload, "")]
    while stack:
        where, value, key = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{where}.{k}" if where else k, v, k) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", v, key) for i, v in enumerate(value))
        elif _bad_number(value) or (key == "value" and _bad_numeric_string(value)):
            raise CallRejected(
                "PropertyConstraintViolation",
                f"{where or 'payload'}: {str(value)[:40]} is not a finite number within ±{MAX_ABS_NUMBER:g}",
            )


def validate(version: str, action: str, payload: dict[str, Any], *, response: bool = False) -> None:
    """Raise `CallRejected` when `payload` does not match the schema of `action` (request or response),
    or carries a number out of bounds (`check_numbers`)."""
    _validate_schema(version, action, payload, response=response)
    check_numbers(payload)


def _fast_where(name: str) -> str:
    """fastjsonschema's name of the field (`data.chargingSchedule[0].limit`) without its `data`: the path
    as every error writes one (errors.field_path); `payload` for the document itself."""
    return name.removeprefix("data").removeprefix(".") or "payload"


def _validate_schema(version: str, action: str, payload: dict[str, Any], *, response: bool) -> None:
    use_decimal = version == "1.6" and action in _DECIMAL_ACTIONS_16
    if not use_decimal:  # multipleOf 0.1 needs Decimal arithmetic, which only the jsonschema path does
        try:
            fast = _fast_validator(3 if response else 2, action, version)
        except (OSError, ValueError) as exc:
            raise CallRejected("NotImplemented", f"no schema for {action} in OCPP {version}") from exc
        try:
            fast(payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            where = _fast_where(exc.name or "")
            code = _code_for_rule(exc.rule or "", version)
            raise CallRejected(code, f"{where}: {exc.message}"[:255]) from None
        return
    try:
        validator = _validator(3 if response else 2, action, version, use_decimal)
    except (OSError, ValueError) as exc:
        raise CallRejected("NotImplemented", f"no schema for {action} in OCPP {version}") from exc
    if use_decimal:
        payload = json.loads(json.dumps(payload), parse_float=decimal.Decimal)
    error = best_match(validator.iter_errors(payload))
    if error is not None:
        where = field_path(error.absolute_path) or "payload"
        raise CallRejected(_code_for(error, version), f"{where}: {error.message}"[:255])
