"""Sign-in and invitation acceptance: the only pages open without a session."""

from __future__ import annotations

import asyncio
import math

import reflex as rx

from pipelet_app.auth import password_reset
from pipelet_app.auth.demo_exposure import demo_installation
from pipelet_app.auth.invitations import find_open_invitation
from pipelet_app.auth.secrets import password_problem
from pipelet_app.errors import AppError
from pipelet_app.i18n import MESSAGES
from pipelet_app.portals.session_state import SessionState
from pipelet_app.services.session import session_scope


class LoginState(SessionState):
    """The sign-in page. The form posts to `/auth/login` (which sets the cookie); an error comes back as a
    code in the query string and is shown in the user's language. The password never passes an event."""

    error: str = ""
    notice: str = ""
    demo: bool = False

    @rx.event
    async def load(self):
        self.demo = await asyncio.to_thread(demo_installation)
        query = dict(self.router.url.query_parameters)
        code = str(query.get("error", ""))
        try:
            wait_s = max(1, min(24 * 3600, int(str(query.get("wait", "1")))))
        except ValueError:
            wait_s = 1
        labels = MESSAGES.get(self.locale, MESSAGES["en"])
        self.error = {
            "wrong": labels["login.wrong"],
            "locked": labels["login.locked"].format(minutes=math.ceil(wait_s / 60)),
            "busy": labels["login.busy"].format(seconds=wait_s),
            "demo": labels["login.demo_refused"],
        }.get(code, "")
        self.notice = {"sent": labels["reset.sent"], "done": labels["reset.done"]}.get(
            str(query.get("reset", "")), ""
        )


class ResetState(SessionState):
    """The two password-reset pages. Both are plain form posts to `/auth/password-reset...` (the password
    never passes an event); an outcome comes back as a code in the query string."""

    error: str = ""
    reset_email: str = ""
    link_ok: bool = False
    available: bool = True

    def _message(self, code: str) -> str:
        labels = MESSAGES.get(self.locale, MESSAGES["en"])
        return {
            "unavailable": labels["reset.unavailable"],
            "email": labels["reset.email_missing"],
            "token": labels["reset.invalid"],
            "password": labels["reset.password_problem"],
        }.get(code, "")

    @rx.event
    async def load_ask(self):
        self.available = await asyncio.to_thread(password_reset.available)
        code = str(self.router.url.query_parameters.get("error", ""))
        self.error = self._message(code if self.available else "unavailable")

    @rx.event
    async def load_reset(self):
        token = str(self.router.page.params.get("reset_token", ""))

        def check() -> str:
            with session_scope() as db:
                return password_reset.check_link(db, token)

        self.error = self._message(str(self.router.url.query_parameters.get("error", "")))
        try:
            self.reset_email = await asyncio.to_thread(check)
            self.link_ok = True
        except AppError:
            self.reset_email, self.link_ok = "", False
            self.error = self._message("token")


class InviteState(SessionState):
    invite_email: str = ""
    invite_error: str = ""
    invite_done: bool = False

    def _invite_token(self) -> str:
        return str(self.router.page.params.get("invite_token", ""))

    @rx.event
    def load(self):
        """The form posts to `/auth/invitations/{token}`, which comes back here with `done=1` or an error
        code (the password never passes an event)."""
        query = self.router.url.query_parameters
        self.invite_error = self.invite_email = ""
        self.invite_done = str(query.get("done", "")) == "1"
        if self.invite_done:
            return
        try:
            with session_scope() as db:
                self.invite_email = find_open_invitation(db, self._invite_token()).email
        except AppError as exc:
            self.invite_error = exc.message
            return
        self.invite_error = {
            "password": password_problem("") or "",
            "email": "email: a user with this e-mail already exists",
            "partner": "spv_partner: this partner already has a login; ask for a new invitation",
        }.get(str(query.get("error", "")), "")
