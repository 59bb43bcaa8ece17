"""Solar-charging page state: loads and saves only through the guard, as the signed-in operator.

The energy flows, today's chart and the decisions refresh by themselves while the page is open: `load`
starts one background event per browser tab (`live`) that re-reads them every `LIVE_EVERY_S` and pushes
the change, so an operator watching the site sees each new MQTT measurement within seconds. It stops
when the tab has left the page (the router shows another path), when access is gone, or after
`LIVE_FOR_S` (a reload starts it again), so a forgotten tab does not query for ever.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from pipelet_app.portals.operator import surplus_data
from pipelet_app.portals.session_state import SessionState

LIVE_EVERY_S = 5.0
LIVE_FOR_S = 1800.0


class SurplusState(SessionState):
    site_id: str = ""
    site_name: str = ""
    settings: dict[str, str] = {}
    flows: dict[str, str] = {}
    chart: list[dict] = []
    decisions: list[dict[str, str]] = []
    error: str = ""
    saved: bool = False
    _live_path: str = ""

    def _param(self) -> int | None:
        raw = str(self.router.page.params.get("site_id", ""))
        return int(raw) if raw.isdigit() else None

    async def _reload(self):
        site_id = self._param()
        if site_id is None:
            return None
        result = await self._guarded_off_loop(lambda db, p: surplus_data.surplus_view(db, p, site_id))
        data = result.value or {}
        self.site_id = data.get("site_id", "")
        self.site_name = data.get("site_name", "")
        self.settings = data.get("settings", {})
        self.flows = data.get("flows", {})
        self.chart = data.get("chart", [])
        self.decisions = data.get("decisions", [])
        return result.redirect

    async def _reload_live(self):
        """Only what moves on its own: flows, chart, decisions (the settings form is left alone)."""
        site_id = self._param()
        if site_id is None:
            return None
        result = await self._guarded_off_loop(lambda db, p: surplus_data.surplus_view(db, p, site_id))
        data = result.value or {}
        self.flows = data.get("flows", {})
        self.chart = data.get("chart", [])
        self.decisions = data.get("decisions", [])
        return result.redirect

    @rx.event
    async def load(self):
        self.error, self.saved = "", False
        redirect = await self._reload()
        if redirect is not None or self.denied or not self.site_id:
            return redirect
        return SurplusState.live

    @rx.event(background=True)
    async def live(self):
        """Push fresh flows every `LIVE_EVERY_S` while this tab stays on this page (see the docstring)."""
        async with self:
            path = self.router.url.path
            if self._live_path == path:
                return  # this tab already has one running
            self._live_path = path
        try:
            for _ in range(int(LIVE_FOR_S / LIVE_EVERY_S)):
                await asyncio.sleep(LIVE_EVERY_S)
                async with self:
                    if self.router.url.path != path or self._live_path != path:
                        return
                    if await self._reload_live() is not None or self.denied:
                        return
        finally:
            async with self:
                if self._live_path == path:
                    self._live_path = ""

    @rx.event
    async def refresh(self):
        return await self._reload()

    @rx.event
    async def save(self, form: dict):
        self.error, self.saved = "", False
        site_id = self._param()
        if site_id is None:
            return None
        result = await self._guarded_off_loop(lambda db, p: surplus_data.save_settings(db, p, site_id, form))
        if result.error:
            self.error = result.error
            return result.redirect
        self.saved = result.redirect is None and not self.denied
        return await self._reload()
