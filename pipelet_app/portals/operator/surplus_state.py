"""Solar-charging page state: loads and saves only through the guard, as the signed-in operator."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.operator import surplus_data
from pipelet_app.portals.session_state import SessionState


class SurplusState(SessionState):
    site_id: str = ""
    site_name: str = ""
    settings: dict[str, str] = {}
    flows: dict[str, str] = {}
    chart: list[dict] = []
    decisions: list[dict[str, str]] = []
    error: str = ""
    saved: bool = False

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

    @rx.event
    async def load(self):
        self.error, self.saved = "", False
        return await self._reload()

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
