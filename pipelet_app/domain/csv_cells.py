"""CSV cells that a spreadsheet opens as data, never as a formula (CSV/formula injection).

Excel, LibreOffice and Google Sheets run a cell starting with `=`, `+`, `-` or `@` as a formula, and a
leading tab or carriage return can hide one. Every CSV writer passes its cells through `cell()`: such a
text gets a leading apostrophe (`'=HYPERLINK(...)` shows as text, as OWASP recommends).

Numbers stay numbers: an int, float or Decimal is written as is, and so is a text that is a plain decimal
number (`-12.5`, `+3`, `1e3`): a spreadsheet reads those as numbers, not formulas, so a negative energy or
amount still parses as a negative number. Anything else starting with a sign (`-2+3`, `+49 170 …`) is
treated as text and neutralised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def cell(value: Any) -> Any:
    """The value as a CSV cell that cannot run as a formula."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]


def record(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: cell(v) for k, v in values.items()}
