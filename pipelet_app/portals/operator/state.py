"""Operator console state."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.operator.data import operator_overview
from pipelet_app.portals.session_state import SessionState


class OperatorState(SessionState):
    sites: list[dict[str, str]] = []
    chargers: list[dict[str, str]] = []
    sessions: list[dict[str, str]] = []

    @rx.event
    async def load(self):
        result = await self._guarded_off_loop(operator_overview)
        data = result.value or {}
        self.sites = data.get("sites", [])
        self.chargers = data.get("chargers", [])
        self.sessions = data.get("sessions", [])
        return result.redirect
