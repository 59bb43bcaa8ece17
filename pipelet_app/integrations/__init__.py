"""What the vendor integrations share: the error taxonomy, the HTTP adapter base of inverter brands
(``pipelet_app.inverters``) and charging networks (``pipelet_app.networks``), and their registries' lookup."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any


def registered_class(registry: Mapping[str, str], name: str, kind: str) -> Any:
    """The class ``registry`` names under ``name`` as a lazy ``"module:Class"`` string, imported only now;
    KeyError naming the known ones when there is none."""
    try:
        target = registry[name]
    except KeyError:
        raise KeyError(f"unknown {kind} {name!r}; known: {', '.join(registry)}") from None
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr)
