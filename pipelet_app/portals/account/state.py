"""The user's own API keys. Any signed-in role may manage its own keys, and only those.

A new key is shown once and never kept: the create event hands it to the page in a one-off script that
writes it into the DOM, so it is in no state var (state may be serialised) and gone on reload.
"""

from __future__ import annotations

import json

import reflex as rx

from pipelet_app.portals.account.data import create_my_api_key, my_api_keys, revoke_my_api_key
from pipelet_app.portals.session_state import SessionState


class ApiKeysState(SessionState):
    keys: list[dict[str, str]] = []
    error: str = ""

    @rx.event
    def load(self):
        result = self._guarded(my_api_keys)
        self.keys = result.value or []
        return result.redirect

    @rx.event
    def create(self, form: dict):
        result = self._guarded(lambda db, principal: create_my_api_key(db, principal, form.get("name", "")))
        if result.redirect:
            return result.redirect
        self.keys = self._guarded(my_api_keys).value or []
        return rx.call_script(show_once_script(result.value or ""))

    @rx.event
    def revoke(self, key_id: str):
        result = self._guarded(lambda db, principal: revoke_my_api_key(db, principal, key_id))
        if result.redirect:
            return result.redirect
        self.keys = self._guarded(my_api_keys).value or []
        return None


def show_once_script(key: str) -> str:
    """JS that puts `key` into the page's #new-key box and reveals it (textContent: no markup parsed)."""
    return (
        f"document.getElementById('new-key').textContent = {json.dumps(key)};"
        "document.getElementById('new-key-box').style.display = 'block';"
    )
