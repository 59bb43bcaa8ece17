"""Reflex's root state keeps the socket's headers; pickled (Redis state manager) they lose the cookie."""

from __future__ import annotations

from reflex.istate.data import RouterData
from reflex.state import State

import pipelet_app.pipelet_app  # noqa: F401  (the app installs the wrapper at import, as in production)
from pipelet_app.runtime import state_pickles

HEADERS = {
    "cookie": "pipelet_session=TOKEN-0123456789; pipelet_locale=de",
    "authorization": "Bearer pk_1_SECRET-KEY",
    "host": "pipelet.example",
    "origin": "https://pipelet.example",
}


def test_pickled_root_state_holds_no_credentials_and_the_live_one_still_does() -> None:
    state_pickles.install()  # idempotent
    router_data = {"headers": dict(HEADERS), "pathname": "/fleet", "query": {}, "token": "t", "sid": "s"}
    root = State(_reflex_internal_init=True)
    root.router_data = router_data
    root.router = RouterData.from_router_data(router_data)
    pickled = root._serialize()
    assert b"TOKEN-0123456789" not in pickled and b"SECRET-KEY" not in pickled
    assert root.router.headers.cookie == HEADERS["cookie"], "the live state keeps what handlers read"
    restored = State._deserialize(pickled)
    assert restored.router.headers.host == "pipelet.example" and restored.router.headers.cookie == ""
