"""Driver portal, PV inverter connections: the state behind ``/driver/pv`` and its OAuth callback.

Thin over ``services.pv_connections`` (database, ownership, OAuth state) and ``inverters.service``
(the live test call).
Every handler goes through ``_guarded`` and the data functions check role and ownership themselves, so a
forged event cannot list, couple or disconnect another driver's account. Secrets typed into the form are
never kept in a state var (state vars travel to the browser and into the state store).
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from pipelet_app.auth.errors import InvalidInput
from pipelet_app.i18n import MESSAGES
from pipelet_app.inverters.base import InvalidCredentials, InverterError
from pipelet_app.inverters.registry import adapter_class
from pipelet_app.inverters.service import ConnectResult, connect
from pipelet_app.portals.session_state import SessionState
from pipelet_app.runtime.jobs import request_pv_poll
from pipelet_app.services import pv_connections
from pipelet_app.settings import get_settings

WATCH_EVERY_S = 2.0
WATCH_FOR_S = 300.0
BUSY_STATUSES = ("pending", "syncing")


class PvState(SessionState):
    connections: list[dict[str, str]] = []
    #: recent sessions of every connection, flattened; ``account`` says whose
    connection_sessions: list[dict[str, str]] = []
    brand_options: list[dict[str, str]] = []
    selected_brand: str = ""
    selected_name: str = ""
    fields: list[dict[str, str]] = []
    form_error: str = ""
    notice: str = ""
    notice_error: bool = False
    # A notice set on the way here (the OAuth callback redirects to this page) survives that one load;
    # any later load, another brand's form or a cancel clears it (an old brand's error must not linger).
    _notice_fresh: bool = False
    pv_sessions: int = 0
    working: bool = False
    _watching: bool = False

    def _t(self, key: str) -> str:
        return MESSAGES.get(self.locale, MESSAGES["en"])[key]

    def _say(self, text: str, *, error: bool = False) -> None:
        self.notice, self.notice_error = text, error
        self._notice_fresh = True

    def _clear_notice(self) -> None:
        self.notice, self.notice_error, self._notice_fresh = "", False, False

    async def _refresh(self) -> Any:
        """Reload the caller's connections. Returns the guard's redirect (not signed in) or None."""
        result = await self._guarded_off_loop(
            lambda db, p: (pv_connections.list_connections(db, p), pv_connections.pv_session_count(db, p))
        )
        rows: list[dict[str, Any]] = result.value[0] if result.value else []
        self.pv_sessions = result.value[1] if result.value else 0
        self.connections = [{k: v for k, v in row.items() if k != "sessions"} for row in rows]
        self.connection_sessions = [{**s, "account": row["id"]} for row in rows for s in row["sessions"]]
        return result.redirect

    def _busy(self) -> bool:
        return any(c["status"] in BUSY_STATUSES for c in self.connections)

    @rx.event
    async def load(self):
        if self._notice_fresh:
            self._notice_fresh = False  # shown on this load, gone on the next
        else:
            self._clear_notice()
        redirect = await self._refresh()
        if redirect is not None or self.denied:
            return redirect
        self.brand_options = [
            {"brand": b["brand"], "name": b["name"], "auth_kind": b["auth_kind"]}
            for b in pv_connections.brand_choices()
        ]
        return PvState.watch if self._busy() else None

    @rx.event(background=True)
    async def watch(self):
        """While a connection is pending or importing, refresh every few seconds so progress shows."""
        async with self:
            if self._watching:
                return
            self._watching = True
        try:
            for _ in range(int(WATCH_FOR_S / WATCH_EVERY_S)):
                await asyncio.sleep(WATCH_EVERY_S)
                async with self:
                    if await self._refresh() is not None or not self._busy():
                        return
        finally:
            async with self:
                self._watching = False

    # ---------------------------------------------------------------------------------- brand choice

    @rx.event
    def choose_brand(self, brand: str):
        """Enphase: off to its consent page. Others: show the brand's credential form."""
        self.form_error = ""
        self._clear_notice()
        try:
            cls = adapter_class(brand)
        except KeyError:
            return None
        if cls.auth_kind == "oauth2":
            return PvState.start_oauth(brand)
        choice = next(b for b in pv_connections.brand_choices() if b["brand"] == brand)
        self.selected_brand, self.selected_name = brand, choice["name"]
        self.fields = [
            {
                "name": f["name"],
                "label": f["label"],
                "type": "password" if f["secret"] else "text",
                "required": "1" if f["required"] else "",
                "help": f["help"],
            }
            for f in choice["fields"]
        ]
        return None

    @rx.event
    def cancel_form(self):
        self._clear_notice()
        self.selected_brand = self.selected_name = self.form_error = ""
        self.fields = []

    # ------------------------------------------------------------------------------------ OAuth (Enphase)

    @rx.event
    async def start_oauth(self, brand: str):
        token = self._session_token()
        result = await self._guarded_off_loop(
            lambda db, p: pv_connections.make_oauth_state(db, p, token, brand)
        )
        if result.redirect is not None or result.value is None:
            return result.redirect
        if not getattr(get_settings(), f"{brand}_client_id", ""):  # the installation has no app at the brand
            self._say(self._t("pv.not_configured"), error=True)
            return None
        cls = adapter_class(brand)
        url = cls.authorize_url(redirect_uri=pv_connections.redirect_uri(), state=result.value)  # type: ignore[attr-defined]
        return rx.redirect(url)

    @rx.event
    async def finish_oauth(self):
        """``/driver/pv/callback``: check the state nonce, exchange the code, test, save, poll now."""
        params = dict(self.router.url.query_parameters)
        token, state = self._session_token(), params.get("state", "")

        def check(db: Any, principal: Any) -> str:
            try:
                return pv_connections.check_oauth_state(db, principal, token, state)
            except InvalidInput:
                return ""

        checked = await self._guarded_off_loop(check)
        if checked.redirect is not None or self.denied:
            return checked.redirect
        brand = checked.value or ""
        if not brand:
            self._say(self._t("pv.oauth_state"), error=True)
            return rx.redirect("/driver/pv")
        if params.get("error") or not params.get("code"):
            self._say(self._t("pv.oauth_failed"), error=True)
            return rx.redirect("/driver/pv")
        try:
            cls = adapter_class(brand)
            credentials = await cls.exchange_code(params["code"], redirect_uri=pv_connections.redirect_uri())  # type: ignore[attr-defined]
            result = await connect(brand, credentials)
        except InvalidCredentials as error:
            self._say(f"{self._t('pv.oauth_failed')} {error}", error=True)
            return rx.redirect("/driver/pv")
        except InverterError as error:
            self._say(f"{self._t('pv.try_later')} {error}", error=True)
            return rx.redirect("/driver/pv")
        return await self._saved(brand, result)

    # ------------------------------------------------------------------------------ credential form

    @rx.event
    async def submit_credentials(self, form: dict[str, Any]):
        brand = self.selected_brand
        self.form_error = ""
        missing_field, try_later = self._t("pv.missing_field"), self._t("pv.try_later")

        def prepare(db: Any, principal: Any) -> dict[str, str] | str:
            pv_connections.my_driver(db, principal)  # role check before anything is sent to a cloud
            try:
                return pv_connections.clean_credentials(brand, form)
            except InvalidInput as missing:
                return f"{missing_field} {missing.message}"
            except KeyError:
                return try_later

        prepared = await self._guarded_off_loop(prepare)
        if prepared.redirect is not None or self.denied:
            yield prepared.redirect
            return
        if isinstance(prepared.value, str):
            self.form_error = prepared.value
            return
        self.working = True
        yield  # show the spinner while the brand answers the live test call
        try:
            result = await connect(brand, prepared.value)
        except InvalidCredentials as error:
            self.form_error = f"{self._t('pv.wrong_credentials')} {error}"
            return
        except InverterError as error:
            self.form_error = f"{self._t('pv.try_later')} {error}"
            return
        finally:
            self.working = False
        self.cancel_form()
        yield await self._saved(brand, result)

    async def _saved(self, brand: str, result: ConnectResult) -> Any:
        saved = await self._guarded_off_loop(
            lambda db, p: pv_connections.save_connection(db, p, brand, result)
        )
        if saved.redirect is not None or saved.value is None:
            return saved.redirect
        await request_pv_poll(saved.value)
        self._say(self._t("pv.connected_notice"))
        await self._refresh()
        return rx.redirect("/driver/pv")

    # -------------------------------------------------------------------------------------- disconnect

    @rx.event
    async def disconnect(self, account_id: str):
        try:
            wanted = int(account_id)
        except (TypeError, ValueError):
            return None
        result = await self._guarded_off_loop(lambda db, p: pv_connections.disconnect(db, p, wanted))
        if result.redirect is not None:
            return result.redirect
        if result.value is not None:
            self._say(self._t("pv.disconnected_notice"))
        await self._refresh()
        return None

    @rx.event
    def dismiss(self):
        self.notice = ""
