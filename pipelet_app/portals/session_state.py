"""The browser's sign-in session, language, and the guarded-load helper every portal state uses.

The browser keeps only a random session token, in an HttpOnly cookie that only `/auth/login` sets. Every
handler reads it from the event socket's handshake headers and resolves it against the database again,
and checks the role itself: the vars below are for display, never for authorisation, because the client
can send any event to any state. The token is never a state var: state may be serialised (Redis), and
nothing secret belongs in it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

import reflex as rx

from pipelet_app.auth import Forbidden, InvalidInput, NotAuthenticated, Principal, home_path
from pipelet_app.auth import sessions as auth_sessions
from pipelet_app.errors import AppError
from pipelet_app.i18n import LOCALES, MESSAGES
from pipelet_app.i18n.formatting import in_locale
from pipelet_app.i18n.words import error_text
from pipelet_app.portals.live import HUB, Key
from pipelet_app.runtime import offload
from pipelet_app.services.account import set_my_locale
from pipelet_app.services.live_versions import versions_in
from pipelet_app.services.session import Session, session_scope

T = TypeVar("T")
LOGOUT_SCRIPT = "fetch('/auth/logout', {method: 'POST', credentials: 'same-origin'})"
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
        ("nav.claim", "/operator/claim"),
        ("nav.tokens", "/operator/tokens"),
        ("nav.customers", "/operator/customers"),
        ("nav.networks", "/operator/networks"),
        ("nav.reports", "/operator/reports"),
        ("nav.payments", "/operator/payments"),
        ("spv.title", "/operator/spvs"),
    ],
    "investor": [("nav.investor", "/investor")],
    "admin": [("nav.admin", "/admin"), ("nav.system", "/admin/system")],
}


@dataclass
class GuardResult:
    """A guarded call's outcome: a value, a redirect, a refusal (whole page) or an input error (a form)."""

    value: Any = None
    redirect: Any = None
    denied: str = ""
    error: str = ""


@dataclass
class _Outcome:
    """What a guarded call produced, as plain data: it may be computed on a worker thread."""

    kind: str = "ok"  # ok, unauthenticated, forbidden, invalid, denied
    value: Any = None
    message: str = ""
    who: tuple[str, str, str] | None = None  # display name, e-mail, role of the resolved caller


def _run_guarded(token: str, action: Callable[[Session, Principal], Any], locale: str = "en") -> _Outcome:
    """Resolve the session token and run `action` in one transaction; touches no state (thread-safe).
    Numbers and dates the action formats come out in the page's `locale` (i18n/formatting.py)."""
    who = None
    try:
        with in_locale(locale), session_scope() as db:
            principal = auth_sessions.resolve(db, token)
            who = (principal.name or principal.email, principal.email, principal.role.value)
            value = action(db, principal)
        return _Outcome(value=value, who=who)
    except NotAuthenticated:
        return _Outcome("unauthenticated")
    except Forbidden:
        return _Outcome("forbidden", who=who)
    except InvalidInput as exc:
        return _Outcome("invalid", message=exc.message, who=who)
    except AppError as exc:
        return _Outcome("denied", message=exc.message, who=who)


class SessionState(rx.State):
    locale: str = rx.Cookie("en", name="pipelet_locale", max_age=YEAR_S, same_site="lax")
    user_name: str = ""
    user_email: str = ""
    user_role: str = ""
    denied: str = ""
    menu_open: bool = False  # the header's menu at phone widths (display only)

    @rx.event
    def toggle_menu(self):
        self.menu_open = not self.menu_open

    @rx.var
    def tr(self) -> dict[str, str]:
        return MESSAGES.get(self.locale, MESSAGES["en"])

    @rx.var
    def nav_items(self) -> list[dict[str, str]]:
        labels = MESSAGES.get(self.locale, MESSAGES["en"])
        items = NAV_BY_ROLE.get(self.user_role, [])
        extra = [("nav.api_keys", "/account/api-keys")] if self.user_role else []
        return [{"label": labels[key], "href": href} for key, href in items + extra]

    def _session_token(self) -> str:
        """The session cookie the browser sent with this socket's handshake ("" when none)."""
        cookie = SimpleCookie()
        try:
            cookie.load(self.router.headers.cookie or "")
        except CookieError:
            return ""
        morsel = cookie.get(auth_sessions.SESSION_COOKIE)
        return morsel.value if morsel else ""

    def _guarded(self, action: Callable[[Session, Principal], T]) -> GuardResult:
        """Run `action` with the caller's principal; it must call `require(...)` itself.

        Not signed in (or expired) → redirect to /login; wrong role or another tenant's object → a refusal
        shown instead of the page; invalid input → `error`, for the form that sent it.
        On the event loop: only for actions that are a query or two; anything more uses `_guarded_off_loop`.
        """
        return self._settle(_run_guarded(self._session_token(), action, self.locale))

    async def _guarded_off_loop(
        self, action: Callable[[Session, Principal], T], *, heavy: bool = False
    ) -> GuardResult:
        """`_guarded` on a worker thread, so this user's queries (or, with `heavy`, a return or a PDF)
        never hold up another user's page. `action` runs on that thread: give it values, not `self`."""
        lane = offload.heavy if heavy else offload.blocking
        return self._settle(await lane(_run_guarded, self._session_token(), action, self.locale))

    def _settle(self, outcome: _Outcome) -> GuardResult:
        """Apply a guarded call's outcome to the state (on the event loop, where state may change)."""
        self.denied = ""
        if outcome.who is not None:
            self.user_name, self.user_email, self.user_role = outcome.who
        if outcome.kind == "ok":
            return GuardResult(value=outcome.value)
        if outcome.kind == "unauthenticated":
            self.user_role = ""
            return GuardResult(redirect=rx.redirect("/login"))
        if outcome.kind == "forbidden":
            self.denied = MESSAGES.get(self.locale, MESSAGES["en"])["common.denied"]
            return GuardResult(denied=self.denied)
        if outcome.kind == "invalid":
            return GuardResult(error=error_text(outcome.message, self.locale))
        self.denied = error_text(outcome.message, self.locale)  # "Not found." in the page's language
        return GuardResult(denied=self.denied)

    # The fingerprint of what a live page shows (read by its loader right before the view): its follower
    # reloads only when the data moved past it, not once more right after the page loaded.
    _live_seen: str | None = None

    @staticmethod
    def _fingerprinted(
        key_of: Callable[[Session, Principal], Key], view: Callable[[Session, Principal], T]
    ) -> Callable[[Session, Principal], tuple[str, T]]:
        """A guarded action giving (the key's fingerprint, the view), read in that order in one
        transaction: a change after the fingerprint shows on the page at the follower's next poll."""

        def action(db: Session, principal: Principal) -> tuple[str, T]:
            key = key_of(db, principal)
            return versions_in(db, [key]).get(key, ""), view(db, principal)

        return action

    async def _follow(
        self, owner: str, key_of: Callable[[Session, Principal], Key], refresh: Callable[[], Awaitable[Any]]
    ) -> None:
        """The body of a live page's background `follow` event (see `portals.live`): find what the page
        follows (`key_of` checks role and tenant), then reload the view through `refresh` (a guarded
        loader: role and tenant checked again each time) whenever it changes, until the tab leaves."""
        async with self:
            token = self.router.session.client_token
            found = await self._guarded_off_loop(key_of)
            seen = self._live_seen
        if found.value is None:
            return
        generation = HUB.claim(token, owner)
        async for _ in HUB.changes(found.value, token, generation, seen):
            async with self:
                await refresh()

    def _unfollow(self, owner: str) -> None:
        HUB.release(self.router.session.client_token, owner)

    @rx.event
    def choose_locale(self, locale: str):
        """Labels switch at once; the page's numbers and dates were formatted on the server in the old
        language, so the page loads again (after the cookie is set) to format them in the new one."""
        if locale not in LOCALES or locale == self.locale:
            return
        self.locale = locale
        if self._session_token():
            self._guarded(lambda db, principal: set_my_locale(db, principal, locale))
        return rx.call_script("window.location.reload()")

    @rx.event
    def identify(self):
        """For pages anyone may open (the 404 page): show who is signed in, if anyone; refuse nothing."""
        self._guarded(lambda _db, _principal: None)

    @rx.event
    def go_home(self):
        """`/`: to the signed-in user's portal (in the account's language), or to the login page.
        Sign-in lands here (`/auth/login` redirects to "/"), so this is where the language is taken over."""
        result = self._guarded(lambda _db, principal: (home_path(principal.role), principal.locale))
        if result.redirect or not result.value:
            return result.redirect or rx.redirect("/login")
        home, locale = result.value
        if locale in LOCALES:
            self.locale = locale
        return rx.redirect(home)

    @rx.event
    def logout(self):
        """Revoke the session now; `/auth/logout` clears the HttpOnly cookie (scripts cannot). This socket
        keeps the revoked cookie in its handshake headers until the next sign-in reloads the page, so
        every later event of it is refused like any other revoked session's."""
        with session_scope() as db:
            auth_sessions.logout(db, self._session_token())
        self.user_role = self.user_name = self.user_email = ""
        return [rx.call_script(LOGOUT_SCRIPT), rx.redirect("/login")]
