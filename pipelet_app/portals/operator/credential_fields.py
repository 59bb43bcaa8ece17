"""The credential inputs of a form that connects one of several adapters (a charging network on
`/operator/networks`, an inverter cloud on the site page): one input per distinct field name, so the form
need not change with the choice; the form posts them all and the handler keeps the chosen adapter's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class _Field(Protocol):
    name: str
    secret: bool


def merged_fields(adapters: Iterable[tuple[str, Iterable[_Field]]]) -> list[tuple[str, list[str], bool]]:
    """(field name, the display names of the adapters that ask for it, secret) per distinct field name over
    `adapters` ((display name, credential fields) each), in first-asked order; secret if any asks it so."""
    inputs: dict[str, tuple[list[str], bool]] = {}
    for display_name, fields in adapters:
        for f in fields:
            names, secret = inputs.setdefault(f.name, ([], f.secret))
            names.append(display_name)
            inputs[f.name] = (names, secret or f.secret)
    return [(name, names, secret) for name, (names, secret) in inputs.items()]
