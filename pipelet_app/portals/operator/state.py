"""Operator console state."""

from __future__ import annotations

from functools import partial

import reflex as rx

from pipelet_app.portals.operator.data import CHARGER_ROWS, SITE_ROWS, live_key, operator_overview
from pipelet_app.portals.session_state import SessionState


class OperatorState(SessionState):
    sites: list[dict[str, str]] = []
    chargers: list[dict[str, str]] = []
    sessions: list[dict[str, str]] = []
    # The tables show a page each (portals/operator/data.py); the live follower reloads the pages shown.
    charger_count: int = 0
    charger_offset: int = 0
    chargers_span: str = ""
    site_count: int = 0
    site_offset: int = 0
    sites_span: str = ""

    async def _refresh(self):
        view = partial(operator_overview, charger_offset=self.charger_offset, site_offset=self.site_offset)
        result = await self._guarded_off_loop(self._fingerprinted(live_key, view))
        self._live_seen, data = result.value or (None, {})
        self.sites = data.get("sites", [])
        self.chargers = data.get("chargers", [])
        self.sessions = data.get("sessions", [])
        self.charger_count = data.get("charger_count", 0)
        self.charger_offset = data.get("charger_offset", 0)
        self.chargers_span = data.get("chargers_span", "")
        self.site_count = data.get("site_count", 0)
        self.site_offset = data.get("site_offset", 0)
        self.sites_span = data.get("sites_span", "")
        return result

    @rx.event
    async def load(self):
        self.charger_offset = self.site_offset = 0  # a visit starts on the first pages
        return (await self._refresh()).redirect

    @rx.event
    async def charger_page(self, step: int):
        """The next (1) or previous (-1) page of chargers."""
        self.charger_offset = max(0, self.charger_offset + step * CHARGER_ROWS)
        return (await self._refresh()).redirect

    @rx.event
    async def site_page(self, step: int):
        """The next (1) or previous (-1) page of sites."""
        self.site_offset = max(0, self.site_offset + step * SITE_ROWS)
        return (await self._refresh()).redirect

    @rx.event(background=True)
    async def follow(self):
        """Live: the list follows the tenant's chargers (status, sessions) without a reload."""
        await self._follow("operator", live_key, self._refresh)

    @rx.event
    def unfollow(self):
        self._unfollow("operator")
