"""No credentials in serialised Reflex state (the Redis state manager of the scale-out deployment).

Our own state vars hold no token or key (see portals/session_state.py), but Reflex keeps the event
socket's request headers on the root state — the `Cookie` header with the session token included — and
the Redis state manager pickles that state into Redis. `install()` wraps Reflex's `__getstate__` so the
pickle leaves credential headers out. Nothing is lost: for every event Reflex takes the headers afresh
from the live socket before any handler runs, and that is where `SessionState._session_token` reads them.
The embedded deployment keeps state in memory and never pickles it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reflex.istate.data import _PRIVATE_HEADERS, HeaderData, _FrozenDictStrStr
from reflex.state import BaseState

_MARK = "_pipelet_strips_credentials"


def _public(headers: Any) -> Any:
    if isinstance(headers, HeaderData):
        raw = {k: v for k, v in headers.raw_headers.items() if k.lower() not in _PRIVATE_HEADERS}
        return dataclasses.replace(headers, cookie="", raw_headers=_FrozenDictStrStr(**raw))
    if isinstance(headers, dict):
        return {k: v for k, v in headers.items() if str(k).lower() not in _PRIVATE_HEADERS}
    return headers


def without_credentials(fields: dict[str, Any]) -> dict[str, Any]:
    """A copy of a state's pickled fields with cookie and authorization headers removed."""
    fields = dict(fields)
    router_data = fields.get("router_data")
    if isinstance(router_data, dict) and "headers" in router_data:
        fields["router_data"] = {**router_data, "headers": _public(router_data["headers"])}
    if "rx_router_headers" in fields:
        fields["rx_router_headers"] = _public(fields["rx_router_headers"])
    return fields


def install() -> None:
    original = BaseState.__getstate__
    if getattr(original, _MARK, False):
        return

    def __getstate__(self: BaseState) -> dict[str, Any]:
        return without_credentials(original(self))

    setattr(__getstate__, _MARK, True)
    BaseState.__getstate__ = __getstate__  # type: ignore[method-assign]
