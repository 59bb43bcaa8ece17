"""Fleet dashboard state: period, search and sort live here; numbers come from the data functions.

The figures are aggregates over every session of the fleet, so they are computed off the event loop.
"""

from __future__ import annotations

from urllib.parse import urlencode

import reflex as rx

from pipelet_app.fleet.voids import restore_session, void_session
from pipelet_app.i18n import MESSAGES
from pipelet_app.portals.fleet.data import (
    default_period,
    driver_sessions,
    fleet_overview,
    live_key,
    period_filter,
)
from pipelet_app.portals.session_state import SessionState

PAGE = 100
SORT_KEYS = {"name": "name", "total": "total_wh", "solar": "solar_share_value"}


class FleetState(SessionState):
    start: str = ""
    end: str = ""
    totals: dict[str, str] = {}
    estimated: bool = False
    # All rows stay on the server; the browser gets one sorted, filtered page of them (large fleets).
    _drivers: list[dict] = []
    shown: int = PAGE
    months: list[dict] = []
    search: str = ""
    sort_by: str = "name"
    sort_desc: bool = False
    period_error: str = ""
    export_url: str = ""

    def _matching(self) -> list[dict]:
        needle = self.search.strip().lower()
        return [d for d in self._drivers if needle in str(d["name"]).lower()]

    @rx.var
    def visible_drivers(self) -> list[dict]:
        key = SORT_KEYS.get(self.sort_by, "name")
        rows = sorted(self._matching(), key=lambda d: (d[key], d["name"]), reverse=self.sort_desc)
        return rows[: self.shown]

    @rx.var
    def matching_drivers(self) -> int:
        return len(self._matching())

    @rx.event
    def show_more(self):
        self.shown += PAGE

    async def _reload(self):
        start, end = self.start, self.end
        result = await self._guarded_off_loop(
            self._fingerprinted(live_key, lambda db, principal: fleet_overview(db, principal, start, end))
        )
        self.period_error = result.error
        if result.error:
            return None
        self._live_seen, data = result.value or (None, {})
        self.start, self.end = data.get("start", self.start), data.get("end", self.end)
        self.totals = data.get("totals", {})
        self.estimated = data.get("estimated", False)
        self._drivers = data.get("drivers", [])
        self.shown = PAGE
        self.months = data.get("months", [])
        if result.value:
            flt = period_filter(self.start, self.end)
            assert flt.start and flt.end
            query = urlencode({"from": flt.start.isoformat(), "to": flt.end.isoformat()})
            self.export_url = f"/api/v1/fleet/sessions.csv?{query}"
        return result.redirect

    @rx.event
    async def load(self):
        if not self.start:
            self.start, self.end = default_period()
        return await self._reload()

    @rx.event(background=True)
    async def follow(self):
        """Live: a session's energy (and a new session) moves the dashboard's figures without a reload."""
        await self._follow("fleet", live_key, self._live_reload)

    async def _live_reload(self):
        shown = self.shown  # a live update keeps the rows the manager opened with "show more"
        await self._reload()
        self.shown = shown

    @rx.event
    def unfollow(self):
        self._unfollow("fleet")

    @rx.event
    async def set_period(self, form: dict):
        previous = self.start, self.end
        self.start, self.end = form.get("start", ""), form.get("end", "")
        redirect = await self._reload()
        if self.period_error:  # keep showing the last valid period's figures, export link included
            self.start, self.end = previous
        return redirect

    @rx.event
    def set_search(self, value: str):
        self.search = value

    @rx.event
    def sort(self, key: str):
        if key not in SORT_KEYS:
            return
        self.sort_desc = not self.sort_desc if self.sort_by == key else key != "name"
        self.sort_by = key


class FleetDriverState(FleetState):
    void_message: str = ""
    voided: str = ""  # the session just voided: its Undo stays on offer until the next page load
    driver_name: str = ""
    driver_sessions: list[dict[str, str]] = []
    next_cursor: str = ""

    def _driver_id(self) -> int:
        raw = str(self.router.page.params.get("driver_id", ""))
        return int(raw) if raw.isdigit() else 0

    async def _page(self, cursor: str | None):
        if not self.start:
            self.start, self.end = default_period()
        driver_id, start, end = self._driver_id(), self.start, self.end
        return await self._guarded_off_loop(
            lambda db, principal: driver_sessions(db, principal, driver_id, start, end, cursor)
        )

    @rx.event
    async def load_driver(self):
        return await self._load_driver()

    async def _load_driver(self):
        self.driver_sessions, self.driver_name, self.next_cursor, self.void_message = [], "", "", ""
        self.voided = ""
        result = await self._page(None)
        data = result.value or {}
        self.driver_name = data.get("driver", "")
        self.driver_sessions = data.get("sessions", [])
        self.next_cursor = data.get("next_cursor", "")
        return result.redirect

    @rx.event
    async def void(self, form: dict):
        """Void one of this driver's imported sessions (service checks role, fleet and source)."""
        transaction_id, reason = str(form.get("transaction_id", "")), str(form.get("reason", ""))
        result = await self._guarded_off_loop(
            lambda db, principal: void_session(db, principal, transaction_id, reason)
        )
        if result.redirect is not None:
            return result.redirect
        if result.error:
            self.void_message = result.error
            return None
        redirect = await self._load_driver()
        self.void_message = MESSAGES.get(self.locale, MESSAGES["en"])["fleet.voided"]
        self.voided = transaction_id
        return redirect

    @rx.event
    async def undo_void(self):
        """Bring the session just voided back (audited; the service checks role and fleet again)."""
        transaction_id = self.voided
        result = await self._guarded_off_loop(
            lambda db, principal: restore_session(db, principal, transaction_id)
        )
        if result.redirect is not None:
            return result.redirect
        if result.error or result.denied:
            self.void_message = result.error or result.denied
            return None
        redirect = await self._load_driver()
        self.void_message = MESSAGES.get(self.locale, MESSAGES["en"])["fleet.restored"]
        return redirect

    @rx.event
    async def load_more(self):
        if not self.next_cursor:
            return None
        result = await self._page(self.next_cursor)
        data = result.value or {}
        self.driver_sessions = self.driver_sessions + data.get("sessions", [])
        self.next_cursor = data.get("next_cursor", "")
        return result.redirect
