"""Driver portal state: loads only through the guard, as the signed-in driver."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.driver import surplus_data
from pipelet_app.portals.driver.data import driver_overview
from pipelet_app.portals.session_state import SessionState


class DriverState(SessionState):
    sessions: list[dict[str, str]] = []
    totals: list[dict[str, str]] = []
    tokens: list[dict[str, str]] = []
    running: list[dict[str, str]] = []
    prefs_error: str = ""
    prefs_saved: bool = False

    @rx.event
    async def load(self):
        result = await self._guarded_off_loop(driver_overview)
        data = result.value or {}
        self.sessions = data.get("sessions", [])
        self.totals = data.get("totals", [])
        self.tokens = data.get("tokens", [])
        if result.redirect is None and not self.denied:
            running = await self._guarded_off_loop(surplus_data.running_sessions)
            self.running = running.value or []
        return result.redirect

    @rx.event
    async def save_preferences(self, form: dict):
        """Mode, departure and energy for one of the driver's own running sessions."""
        self.prefs_error, self.prefs_saved = "", False
        result = await self._guarded_off_loop(lambda db, p: surplus_data.save_preferences(db, p, form))
        if result.error:
            self.prefs_error = result.error
            return result.redirect
        running = await self._guarded_off_loop(surplus_data.running_sessions)
        self.running = running.value or []
        self.prefs_saved = not self.denied
        return result.redirect or running.redirect
