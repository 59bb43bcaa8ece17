"""Driver portal state: loads only through the guard, as the signed-in driver."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.driver.data import driver_overview
from pipelet_app.portals.session_state import SessionState


class DriverState(SessionState):
    sessions: list[dict[str, str]] = []
    totals: list[dict[str, str]] = []
    tokens: list[dict[str, str]] = []

    @rx.event
    async def load(self):
        result = await self._guarded_off_loop(driver_overview)
        data = result.value or {}
        self.sessions = data.get("sessions", [])
        self.totals = data.get("totals", [])
        self.tokens = data.get("tokens", [])
        return result.redirect
