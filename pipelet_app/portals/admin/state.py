"""Admin page state: invitations."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.admin.data import admin_overview, invite
from pipelet_app.portals.session_state import SessionState


class AdminState(SessionState):
    tenants: list[dict[str, str]] = []
    partners: list[dict[str, str]] = []
    invitations: list[dict[str, str]] = []
    invite_link: str = ""
    invite_error: str = ""

    @rx.event
    async def load(self):
        result = await self._guarded_off_loop(admin_overview)
        data = result.value or {}
        self.tenants = data.get("tenants", [])
        self.partners = data.get("partners", [])
        self.invitations = data.get("invitations", [])
        return result.redirect

    @rx.event
    def send_invite(self, form: dict):
        self.invite_link = self.invite_error = ""
        result = self._guarded(
            lambda db, principal: invite(
                db,
                principal,
                form.get("email", ""),
                form.get("role", ""),
                form.get("tenant", ""),
                form.get("name", ""),
                form.get("spv_partner", ""),
            )
        )
        if result.redirect:
            return result.redirect
        if result.error or result.denied:
            self.invite_error, self.denied = result.error or result.denied, ""
            return None
        self.invite_link = result.value
        return AdminState.load
