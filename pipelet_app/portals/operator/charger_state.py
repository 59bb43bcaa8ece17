"""Charger detail (with commands and the charger's answers) and the fault list."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import reflex as rx

from pipelet_app.auth import Principal
from pipelet_app.i18n.words import command_error_text
from pipelet_app.ocpp.commands import notify_identity_changed
from pipelet_app.ocpp.errors import CommandError
from pipelet_app.operations import chargers as operations
from pipelet_app.operations import identity
from pipelet_app.portals.operator.charger_data import charger_view, faults_view, live_key, parse_payload
from pipelet_app.portals.operator.data import live_key as tenant_live_key
from pipelet_app.portals.session_state import SessionState
from pipelet_app.services.session import Session

# What `charger_view` returns, one var each; a refusal empties them all, so nothing of the last charger
# stays on screen.
VIEW_KEYS = (
    "summary",
    "quick",
    "connectors",
    "sessions",
    "reservations",
    "uptime",
    "messages",
    "configuration",
    "tokens",
)


class ChargerState(SessionState):
    summary: dict[str, str] = {}
    quick: list[dict[str, str]] = []
    connectors: list[dict[str, str]] = []
    sessions: list[dict[str, str]] = []
    reservations: list[dict[str, str]] = []
    uptime: list[dict[str, str]] = []
    messages: list[dict[str, str]] = []
    configuration: list[dict[str, str]] = []
    tokens: list[str] = []
    answer: str = ""
    answer_error: str = ""
    sending: bool = False

    def _cp_id(self) -> str:
        return str(self.router.page.params.get("cp_id", ""))

    async def _refresh(self):
        cp_id = self._cp_id()
        result = await self._guarded_off_loop(
            self._fingerprinted(
                lambda db, p: live_key(db, p, cp_id), lambda db, p: charger_view(db, p, cp_id)
            )
        )
        self._live_seen, data = result.value or (None, {})
        for key in VIEW_KEYS:
            setattr(self, key, data.get(key, {} if key == "summary" else []))
        return result

    @rx.event
    async def load(self):
        self.answer = self.answer_error = ""
        return (await self._refresh()).redirect

    @rx.event(background=True)
    async def follow(self):
        """Live: status, connectors and sessions (energy) follow the charger without a reload."""
        async with self:
            cp_id = self._cp_id()
        await self._follow("charger", lambda db, p: live_key(db, p, cp_id), self._refresh)

    @rx.event
    def unfollow(self):
        self._unfollow("charger")

    async def _send(self, name: str, build: Callable[[Session, Principal], dict[str, Any]]):
        """Check role and tenant, build the payload (its own checks), send, and show the charger's own
        answer (or why there is none)."""
        self.answer = self.answer_error = ""
        cp_id = self._cp_id()
        allowed = await self._guarded_off_loop(
            lambda db, p: (operations.own_charger(db, p, cp_id), build(db, p), p)[1:]
        )
        if allowed.value is None:
            self.answer_error = allowed.error or allowed.denied
            if allowed.redirect:
                yield allowed.redirect
            return
        self.sending = True
        yield
        try:
            payload, principal = allowed.value
            response = await operations.command(cp_id, name, payload, by=principal)
            self.answer = f"{name}: {json.dumps(response)}"
        except CommandError as exc:
            self.answer_error = command_error_text(name, type(exc).__name__, str(exc), self.locale)
        finally:
            self.sending = False
        await self._refresh()

    @rx.event
    async def send(self, name: str, payload_text: str):
        async for update in self._send(name, lambda _db, _p: parse_payload(payload_text)):
            yield update

    @rx.event
    async def send_custom(self, form: dict):
        payload_text = str(form.get("payload", ""))
        async for update in self._send(
            str(form.get("name", "")).strip(), lambda _db, _p: parse_payload(payload_text)
        ):
            yield update

    @rx.event
    async def start(self, form: dict):
        """Remote start on one connector with a token from the picker (both checked in start_payload)."""
        cp_id, connector, id_tag = self._cp_id(), str(form.get("connector", "")), str(form.get("id_tag", ""))
        async for update in self._send(
            "remote-start", lambda db, p: operations.start_payload(db, p, cp_id, connector, id_tag)
        ):
            yield update

    @rx.event
    async def stop(self, transaction_id: str):
        """Remote stop of a session running here (checked in stop_payload): no id copied from the log."""
        cp_id = self._cp_id()
        async for update in self._send(
            "remote-stop", lambda db, p: operations.stop_payload(db, p, cp_id, str(transaction_id))
        ):
            yield update

    async def _review(self, transaction_id: str, energy_wh: float | None):
        """Confirm or correct a flagged session (role and tenant checked in `review_session`)."""
        self.answer = self.answer_error = ""
        cp_id = self._cp_id()
        result = await self._guarded_off_loop(
            lambda db, p: operations.review_session(db, p, cp_id, transaction_id, energy_wh)
        )
        if result.value is None:
            self.answer_error = result.error or result.denied
            return result.redirect
        await self._refresh()
        return None

    @rx.event
    async def confirm_session(self, transaction_id: str):
        return await self._review(transaction_id, None)

    @rx.event
    async def correct_session(self, form: dict):
        text = str(form.get("energy_kwh", "")).strip().replace(",", ".")
        try:
            energy_wh = float(text) * 1000
        except ValueError:
            self.answer_error = "energy_kwh: enter the corrected energy in kWh, e.g. 12.5"
            return None
        return await self._review(str(form.get("transaction_id", "")), energy_wh)

    @rx.event
    async def rotate_password(self):
        """A new Basic password, shown once: handed to the page in a one-off script, never kept in a
        state var (state may be serialised), gone on reload. Role and tenant checked in `identity`."""
        self.answer = self.answer_error = ""
        cp_id = self._cp_id()
        result = await self._guarded_off_loop(lambda db, p: identity.rotate_password(db, p, cp_id))
        if result.value is None:
            self.answer_error = result.error or result.denied
            return result.redirect
        await notify_identity_changed(cp_id)
        await self._refresh()
        return rx.call_script(show_password_script(result.value))

    @rx.event
    async def set_auth_mode(self, mode: str):
        self.answer = self.answer_error = ""
        cp_id = self._cp_id()
        result = await self._guarded_off_loop(lambda db, p: identity.set_auth_mode(db, p, cp_id, mode))
        if result.value is None:
            self.answer_error = result.error or result.denied
            return result.redirect
        await notify_identity_changed(cp_id)
        await self._refresh()
        return None


_SHOWN = "window.__pipeletPassword"
_HERE = 'window.location.pathname.replace(/\\/+$/, "")'
# What #new-password and its box render: the password a one-off script left for this path, else nothing.
# A JS expression, never state (docs/security.md), so that every render of the page (and a remount after
# Reflex re-runs the page's loaders) draws it again instead of the empty text React knew.
_FOR_HERE = f'(typeof window !== "undefined" && {_SHOWN} && {_SHOWN}.path === {_HERE})'
SHOWN_PASSWORD = rx.Var(_js_expr=f'({_FOR_HERE} ? {_SHOWN}.value : "")', _var_type=str)
SHOWN_PASSWORD_DISPLAY = rx.Var(_js_expr=f'({_FOR_HERE} ? "block" : "none")', _var_type=str)


def show_password_script(password: str) -> str:
    """JS that leaves the new password for this path (read by `SHOWN_PASSWORD` on every render) and
    writes it into #new-password at once (textContent: no markup). The value is tied to the path, so
    another charger's page never shows it.

    Fresh-clone CI runs showed the box with the password empty and the claimed charger's link missing:
    the tab had been handed a fresh Reflex token and state on its page load, so the claim's update went
    to the old one (`runtime.socket_tokens`)."""
    value = json.dumps(password)
    return (
        "(() => {"
        f"{_SHOWN} = {{path: {_HERE}, value: {value}}};"
        "const code = document.getElementById('new-password'); if (code) code.textContent = "
        f"{_SHOWN}.value;"
        "const box = document.getElementById('new-password-box'); if (box) box.style.display = 'block';"
        "})();"
    )


class FaultsState(SessionState):
    faults: list[dict[str, str]] = []

    async def _refresh(self):
        result = await self._guarded_off_loop(self._fingerprinted(tenant_live_key, faults_view))
        self._live_seen, self.faults = result.value or (None, [])
        return result

    @rx.event
    async def load(self):
        return (await self._refresh()).redirect

    @rx.event(background=True)
    async def follow(self):
        """Live: a new or ended fault shows without a reload."""
        await self._follow("faults", tenant_live_key, self._refresh)

    @rx.event
    def unfollow(self):
        self._unfollow("faults")
