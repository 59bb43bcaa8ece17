"""State of the public pay page: thin over payments.flow.

Nobody is signed in here. The state holds only the connector's public offer and, after paying, the
secret token of this browser's own payment (also in the URL, `?p=`, so a reload or the receipt link
finds it); status is looked up by that token alone, so no other session is reachable. Card fields pass
through one event and are never kept in state (nor logged: runtime/log_redaction).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import reflex as rx

from pipelet_app.errors import AppError
from pipelet_app.payments import flow
from pipelet_app.payments.gateway import GatewayUnavailable, PaymentDeclined, StripeGateway
from pipelet_app.portals.session_state import SessionState
from pipelet_app.services.session import session_scope


def _offer(cp_id: str, connector: int) -> dict[str, Any]:
    with session_scope() as db:
        return flow.offer(db, cp_id, connector)


def _status(token: str) -> dict[str, Any]:
    with session_scope() as db:
        return flow.status(db, token)


class PayState(SessionState):
    found: bool = False
    site: str = ""
    charge_point: str = ""
    connector: int = 0
    currency: str = ""
    preauth: str = ""
    tariff: list[str] = []
    available: bool = False
    request_key: str = ""
    error: str = ""
    busy: bool = False
    token: str = ""
    state: str = ""
    note: str = ""
    energy_kwh: str = ""
    total: str = ""
    captured: str = ""
    lines: list[dict[str, str]] = []

    def _target(self) -> tuple[str, int]:
        params = self.router.page.params
        try:
            return str(params.get("cp_id", "")), int(str(params.get("connector", "")))
        except ValueError:
            return "", 0

    @rx.event
    async def load(self):
        cp_id, connector = self._target()
        self.error, self.busy = "", False
        self.request_key = secrets.token_urlsafe(
            18
        )  # one per render of the button: a double click is one payment
        try:
            offer = await asyncio.to_thread(_offer, cp_id, connector)
        except AppError:
            self.found = False
            return
        self.found = True
        self.site, self.charge_point, self.connector = (
            offer["site"],
            offer["charge_point_id"],
            offer["connector_id"],
        )
        self.currency, self.preauth, self.tariff = offer["currency"], offer["preauth"], offer["tariff"]
        self.available = offer["available"]
        token = str(self.router.url.query_parameters.get("p", ""))
        if token:
            await self._show(token)

    async def _show(self, token: str) -> None:
        try:
            view = await asyncio.to_thread(_status, token)
        except AppError:
            self.token = ""
            return
        self.token, self.state, self.note = view["token"], view["state"], view["note"]
        self.energy_kwh = view["energy_kwh"] or ""
        cost = view["cost"] or {}
        self.total = cost.get("total") or ""
        self.lines = [{"label": line["label"], "amount": line["amount"]} for line in cost.get("lines", [])]
        self.captured = view["captured"] or ""

    @rx.event
    async def refresh(self):
        if self.token:
            await self._show(self.token)

    @rx.event
    async def pay(self, form: dict[str, Any]):
        if self.busy or self.token:
            return
        self.busy, self.error = True, ""
        yield
        try:
            month, _, year = str(form.get("expiry", "")).partition("/")
            gateway = await asyncio.to_thread(StripeGateway)
            method = await asyncio.to_thread(
                gateway.card_method,
                str(form.get("card", "")).replace(" ", ""),
                int(month),
                2000 + int(year) if len(year.strip()) == 2 else int(year),
                str(form.get("cvc", "")),
            )
            request = flow.PayRequest(
                self.charge_point, self.connector, str(form.get("email", "")), method, self.request_key
            )
            view = await flow.pay(request, gateway)
        except ValueError:
            self.error = "expiry: write it as MM/YY"
        except (PaymentDeclined, GatewayUnavailable, AppError) as exc:
            self.error = str(getattr(exc, "message", None) or exc)
        else:
            await self._show(view["token"])
            if self.token:
                yield rx.redirect(f"/pay/{self.charge_point}/{self.connector}?p={self.token}", replace=True)
        self.busy = False
