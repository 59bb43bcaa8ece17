"""`Form1065Input` to and from plain JSON-able dicts, with errors that name the field.

Why: until the SPV tables exist, a year's return can be prepared as a JSON file (`pipelet tax k1
--input`), and the same format serves fixtures, support cases and exports. Money is written as a
string ("1234.50") so no float ever touches it; money fields must be whole cents, shares (fields whose
name contains "share") may carry more digits. Unknown keys are refused, so a typo is not silently
dropped.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar, Union

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.inputs import Form1065Input
from pipelet_app.domain.tax.macrs import TaxYear

T = TypeVar("T")
INPUT_FORMAT = "BAD-INPUT"
CENT = Decimal("0.01")


def to_jsonable(value: Any) -> Any:
    """Dataclasses, Decimals, dates, enums and tuples as JSON-able values (Decimal as a string)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    return value


def input_to_dict(data: Form1065Input) -> dict[str, Any]:
    out: dict[str, Any] = to_jsonable(data)
    return out


def input_from_dict(raw: Any) -> Form1065Input:
    """Build a `Form1065Input`; raises `TaxValidationError` (rule BAD-INPUT) naming the field."""
    return _build(Form1065Input, raw, "")


def _bad(path: str, message: str) -> typing.NoReturn:
    errors.refuse(INPUT_FORMAT, path or "input", message)


def _build(cls: type[T], raw: Any, path: str) -> T:
    if cls is TaxYear and isinstance(raw, int) and not isinstance(raw, bool):
        return TaxYear.calendar(raw)  # type: ignore[return-value]
    if not isinstance(raw, dict):
        _bad(path, f"expected an object, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        _bad(f"{path}.{unknown[0]}".lstrip("."), "unknown field")
    values: dict[str, Any] = {}
    for name, field in fields.items():
        sub = f"{path}.{name}".lstrip(".")
        if name not in raw:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                _bad(sub, "required")
            continue
        values[name] = _convert(hints[name], raw[name], sub)
    return cls(**values)


def _convert(hint: Any, raw: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if raw is None:
            return None
        return _convert(options[0], raw, path)
    if origin is tuple:
        if not isinstance(raw, list):
            _bad(path, "expected a list")
        (item,) = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return tuple(_convert(item, v, f"{path}[{i}]") for i, v in enumerate(raw))
    if hint is Decimal:
        return _decimal(raw, path)
    if hint is bool:
        if not isinstance(raw, bool):
            _bad(path, "expected true or false")
        return raw
    if hint is str:
        if not isinstance(raw, str):
            _bad(path, "expected a string")
        return raw
    if hint is date:
        try:
            return date.fromisoformat(raw)
        except (TypeError, ValueError):
            _bad(path, f"{raw!r} is not a date (YYYY-MM-DD)")
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(raw)
        except ValueError:
            _bad(path, f"{raw!r} is not one of {[m.value for m in hint]}")
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, raw, path)
    _bad(path, f"unsupported type {hint!r}")


def _decimal(raw: Any, path: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        _bad(path, "expected a number or a numeric string")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        _bad(path, f"{raw!r} is not a number")
    if not value.is_finite():
        _bad(path, f"{raw!r} is not a finite number")
    if "share" not in path.rsplit(".", 1)[-1] and value != value.quantize(CENT):
        _bad(path, f"{raw!r}: money must be whole cents")
    if "share" not in path.rsplit(".", 1)[-1]:
        value = value.quantize(CENT)
    return value
