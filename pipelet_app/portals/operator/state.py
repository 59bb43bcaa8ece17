"""Operator console state."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.operator.data import live_key, operator_overview
from pipelet_app.portals.session_state import SessionState


class OperatorState(SessionState):
    sites: list[dict[str, str]] = []
    chargers: list[dict[str, str]] = []
    sessions: list[dict[str, str]] = []
    charger_count: str = "0"
    chargers_shown: str = "0"

    async def _refresh(self):
        result = await self._guarded_off_loop(self._fingerprinted(live_key, operator_overview))
        self._live_seen, data = result.value or (None, {})
        self.sites = data.get("sites", [])
        self.chargers = data.get("chargers", [])
        self.sessions = data.get("sessions", [])
        self.charger_count = data.get("charger_count", "0")
        self.chargers_shown = data.get("chargers_shown", "0")
        return result

    @rx.event
    async def load(self):
        return (await self._refresh()).redirect

    @rx.event(background=True)
    async def follow(self):
        """Live: the list follows the tenant's chargers (status, sessions) without a reload."""
        await self._follow("operator", live_key, self._refresh)

    @rx.event
    def unfollow(self):
        self._unfollow("operator")
