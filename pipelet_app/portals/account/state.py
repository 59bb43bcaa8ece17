"""The user's own API keys. Any signed-in role may manage its own keys, and only those."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.account.data import create_my_api_key, my_api_keys, revoke_my_api_key
from pipelet_app.portals.session_state import SessionState


class ApiKeysState(SessionState):
    keys: list[dict[str, str]] = []
    new_key: str = ""
    error: str = ""

    @rx.event
    def load(self):
        self.new_key = ""
        result = self._guarded(my_api_keys)
        self.keys = result.value or []
        return result.redirect

    @rx.event
    def create(self, form: dict):
        result = self._guarded(lambda db, principal: create_my_api_key(db, principal, form.get("name", "")))
        if result.redirect:
            return result.redirect
        self.new_key = result.value or ""
        self.keys = self._guarded(my_api_keys).value or []
        return None

    @rx.event
    def revoke(self, key_id: str):
        result = self._guarded(lambda db, principal: revoke_my_api_key(db, principal, key_id))
        if result.redirect:
            return result.redirect
        self.keys = self._guarded(my_api_keys).value or []
        return None
