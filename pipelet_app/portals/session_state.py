"""The browser's sign-in session, language, and the guarded-load helper every portal state uses.

The browser keeps only a random session token (a cookie). Every handler resolves it against the database
again and checks the role itself: the vars below are for display, never for authorisation, because the
client can send any event to any state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import reflex as rx
from sqlmodel import Session

from pipelet_app.auth import AuthError, Forbidden, InvalidInput, NotAuthenticated, Principal, home_path
from pipelet_app.auth import sessions as auth_sessions
from pipelet_app.db import session_scope
from pipelet_app.i18n import LOCALES, MESSAGES
from pipelet_app.portals.account.data import set_my_locale

T = TypeVar("T")
YEAR_S = 365 * 24 * 3600

NAV_BY_ROLE: dict[str, list[tuple[str, str]]] = {
    "driver": [("nav.driver", "/driver")],
    "fleet_manager": [
        ("nav.fleet", "/fleet"),
        ("nav.reimbursement", "/fleet/reimbursement"),
        ("nav.import", "/fleet/import"),
    ],
    "operator": [
        ("nav.operator", "/operator"),
        ("nav.faults", "/operator/faults"),
        ("spv.title", "/operator/spvs"),
    ],
    "investor": [("nav.investor", "/investor")],
    "admin": [("nav.admin", "/admin")],
}


@dataclass
class GuardResult:
    """A guarded call's outcome: a value, a redirect, a refusal (whole page) or an input error (a form)."""

    value: Any = None
    redirect: Any = None
    denied: str = ""
    error: str = ""


class SessionState(rx.State):
    session_token: str = rx.Cookie("", name=auth_sessions.SESSION_COOKIE, same_site="strict")
    locale: str = rx.Cookie("en", name="pipelet_locale", max_age=YEAR_S, same_site="lax")
    user_name: str = ""
    user_email: str = ""
    user_role: str = ""
    denied: str = ""

    @rx.var
    def tr(self) -> dict[str, str]:
        return MESSAGES.get(self.locale, MESSAGES["en"])

    @rx.var
    def nav_items(self) -> list[dict[str, str]]:
        labels = MESSAGES.get(self.locale, MESSAGES["en"])
        items = NAV_BY_ROLE.get(self.user_role, [])
        extra = [("nav.api_keys", "/account/api-keys")] if self.user_role else []
        return [{"label": labels[key], "href": href} for key, href in items + extra]

    def _guarded(self, action: Callable[[Session, Principal], T]) -> GuardResult:
        """Run `action` with the caller's principal; it must call `require(...)` itself.

        Not signed in (or expired) → redirect to /login; wrong role or another tenant's object → a refusal
        shown instead of the page; invalid input → `error`, for the form that sent it.
        """
        self.denied = ""
        try:
            with session_scope() as db:
                principal = auth_sessions.resolve(db, self.session_token)
                self.user_name = principal.name or principal.email
                self.user_email = principal.email
                self.user_role = principal.role.value
                return GuardResult(value=action(db, principal))
        except NotAuthenticated:
            self.user_role = ""
            return GuardResult(redirect=rx.redirect("/login"))
        except Forbidden:
            self.denied = MESSAGES.get(self.locale, MESSAGES["en"])["common.denied"]
            return GuardResult(denied=self.denied)
        except InvalidInput as exc:
            return GuardResult(error=exc.message)
        except AuthError as exc:
            self.denied = exc.message
            return GuardResult(denied=exc.message)

    @rx.event
    def choose_locale(self, locale: str):
        if locale not in LOCALES:
            return
        self.locale = locale
        if self.session_token:
            self._guarded(lambda db, principal: set_my_locale(db, principal, locale))

    @rx.event
    def go_home(self):
        """`/`: to the signed-in user's portal, or to the login page."""
        result = self._guarded(lambda _db, principal: home_path(principal.role))
        return result.redirect or rx.redirect(result.value or "/login")

    @rx.event
    def logout(self):
        with session_scope() as db:
            auth_sessions.logout(db, self.session_token)
        self.session_token = ""
        self.user_role = self.user_name = self.user_email = ""
        return rx.redirect("/login")
