"""Sign-in and invitation acceptance: the only pages open without a session."""

from __future__ import annotations

import reflex as rx

from pipelet_app.auth import AuthError, home_path
from pipelet_app.auth import sessions as auth_sessions
from pipelet_app.auth.invitations import accept_invitation, find_open_invitation
from pipelet_app.db import session_scope
from pipelet_app.portals.session_state import SessionState


class LoginState(SessionState):
    error: str = ""

    @rx.event
    def submit(self, form: dict):
        self.error = ""
        try:
            with session_scope() as db:
                token = auth_sessions.login(db, form.get("email", ""), form.get("password", ""))
                principal = auth_sessions.resolve(db, token)
        except AuthError as exc:
            self.error = exc.message
            return None
        self.session_token = token
        self.locale = principal.locale
        self.user_role = principal.role.value
        self.user_name = principal.name or principal.email
        return rx.redirect(home_path(principal.role))


class InviteState(SessionState):
    invite_email: str = ""
    invite_error: str = ""
    invite_done: bool = False

    def _invite_token(self) -> str:
        return str(self.router.page.params.get("invite_token", ""))

    @rx.event
    def load(self):
        self.invite_done = False
        self.invite_error = self.invite_email = ""
        try:
            with session_scope() as db:
                self.invite_email = find_open_invitation(db, self._invite_token()).email
        except AuthError as exc:
            self.invite_error = exc.message

    @rx.event
    def accept(self, form: dict):
        try:
            with session_scope() as db:
                accept_invitation(db, self._invite_token(), form.get("password", ""), form.get("name", ""))
        except AuthError as exc:
            self.invite_error = exc.message
            return
        self.invite_done = True
