"""Driver portal state: loads only through the guard, as the signed-in driver."""

from __future__ import annotations

from urllib.parse import urlencode

import reflex as rx

from pipelet_app.portals.driver import surplus_data
from pipelet_app.portals.driver.data import default_period, driver_overview, live_key, session_detail
from pipelet_app.portals.session_state import SessionState


class DriverState(SessionState):
    sessions: list[dict[str, str]] = []
    totals: list[dict[str, str]] = []
    tokens: list[dict[str, str]] = []
    running: list[dict[str, str]] = []
    prefs_error: str = ""
    prefs_saved: bool = False

    months: list[dict] = []
    start: str = ""
    end: str = ""
    period_error: str = ""

    @rx.var
    def export_url(self) -> str:
        return f"/api/v1/me/sessions.csv?{urlencode({'from': self.start, 'to': self.end})}"

    async def _overview(self):
        start, end = self.start, self.end
        result = await self._guarded_off_loop(
            self._fingerprinted(live_key, lambda db, p: driver_overview(db, p, start, end))
        )
        self.period_error = result.error
        if result.error:
            return result
        self._live_seen, data = result.value or (None, {})
        self.sessions = data.get("sessions", [])
        self.totals = data.get("totals", [])
        self.tokens = data.get("tokens", [])
        self.months = data.get("months", [])
        return result

    @rx.event
    async def set_period(self, form: dict):
        previous = self.start, self.end
        self.start, self.end = str(form.get("start", "")), str(form.get("end", ""))
        result = await self._overview()
        if result.error:  # keep the figures and the export of the last valid period
            self.start, self.end = previous
        return result.redirect

    @rx.event
    async def load(self):
        if not self.start:
            self.start, self.end = default_period()
        result = await self._overview()
        if result.redirect is None and not self.denied:
            running = await self._guarded_off_loop(surplus_data.running_sessions)
            self.running = running.value or []
        return result.redirect

    @rx.event(background=True)
    async def follow(self):
        """Live: a running session's energy and power (and a new or ended session) without a reload."""
        await self._follow("driver", live_key, self._live_reload)

    async def _live_reload(self):
        await self._overview()
        running = await self._guarded_off_loop(surplus_data.running_sessions)
        self.running = running.value or []

    @rx.event
    def unfollow(self):
        self._unfollow("driver")

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


class DriverSessionState(SessionState):
    """One of the driver's sessions in detail (`/driver/sessions/[session_id]`)."""

    summary: dict[str, str] = {}
    curve: list[dict] = []
    split: list[dict] = []

    @rx.event
    async def load(self):
        return await self._reload()

    async def _reload(self):
        session_id = str(self.router.page.params.get("session_id", ""))
        result = await self._guarded_off_loop(
            self._fingerprinted(live_key, lambda db, p: session_detail(db, p, session_id))
        )
        self._live_seen, data = result.value or (None, {})
        self.summary = data.get("summary", {})
        self.curve = data.get("curve", [])
        self.split = data.get("split", [])
        return result.redirect

    @rx.event(background=True)
    async def follow(self):
        """Live: the running session's energy, power and curve follow the charger's meter values."""
        await self._follow("driver-session", live_key, self._reload)

    @rx.event
    def unfollow(self):
        self._unfollow("driver-session")
