"""Admin page state: users, invitations (create, revoke, resend)."""

from __future__ import annotations

import reflex as rx

from pipelet_app.i18n import MESSAGES
from pipelet_app.portals.admin.data import admin_overview
from pipelet_app.portals.session_state import SessionState
from pipelet_app.services.admin import (
    invite,
    public_url_missing,
    resend_invitation,
    revoke_invitation,
    tenant_kind_for,
)


class AdminState(SessionState):
    tenants: list[dict[str, str]] = []
    partners: list[dict[str, str]] = []
    invitations: list[dict[str, str]] = []
    users: list[dict[str, str]] = []
    invite_role: str = ""
    invite_link: str = ""
    invite_error: str = ""
    no_public_url: bool = False

    @rx.var
    def role_tenants(self) -> list[dict[str, str]]:
        """Only the tenants the chosen role can belong to (none for an administrator)."""
        kind = tenant_kind_for(self.invite_role)
        words = MESSAGES.get(self.locale, MESSAGES["en"])
        return [
            {"id": t["id"], "label": f"{t['name']} ({words.get('tenant_kind.' + kind, kind)})"}
            for t in self.tenants
            if kind and t["kind"] == kind
        ]

    @rx.event
    def choose_role(self, role: str):
        self.invite_role = role

    async def _reload(self):
        result = await self._guarded_off_loop(admin_overview)
        data = result.value or {}
        self.tenants = data.get("tenants", [])
        self.partners = data.get("partners", [])
        self.invitations = data.get("invitations", [])
        self.users = data.get("users", [])
        self.no_public_url = bool(result.value) and public_url_missing()
        return result.redirect

    @rx.event
    async def load(self):
        return await self._reload()

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
        self.invite_role = ""
        return AdminState.load

    async def _on_invitation(self, action, invitation_id: str):
        """Revoke or resend (role checked in the data function); a stale row is a message, not a refusal."""
        self.invite_link = self.invite_error = ""
        result = await self._guarded_off_loop(lambda db, p: action(db, p, str(invitation_id)))
        if result.redirect:
            return result.redirect
        if result.error or result.denied:
            self.invite_error, self.denied = result.error or result.denied, ""
        elif isinstance(result.value, str):
            self.invite_link = result.value
        return await self._reload()

    @rx.event
    async def revoke(self, invitation_id: str):
        return await self._on_invitation(revoke_invitation, invitation_id)

    @rx.event
    async def resend(self, invitation_id: str):
        return await self._on_invitation(resend_invitation, invitation_id)
