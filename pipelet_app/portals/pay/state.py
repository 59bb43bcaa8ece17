"""State of the public pay page: thin over payments.flow.

Nobody is signed in here. The state holds only the connector's public offer and, after paying, the
secret token of this browser's own payment (also in the URL, `?p=`, so a reload or the receipt link
finds it); status is looked up by that token alone, so no other session is reachable.

Card data never reaches this server: the page loads Stripe.js (`STRIPE_JS_URL`) and mounts Stripe's card
Element; the pay button asks our server for the payment's PaymentIntent (manual capture, the hold) and
gets its client_secret, Stripe.js confirms the card with it straight at Stripe, and the page then asks
our server to check: the server asks Stripe itself and starts the connector only on `requires_capture`
(payments/flow.py; the signed webhook does the same if the page never reports back).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import reflex as rx

from pipelet_app.errors import AppError
from pipelet_app.payments import flow
from pipelet_app.payments.gateway import GatewayUnavailable, RequestRefused
from pipelet_app.portals.session_state import SessionState
from pipelet_app.services.session import session_scope
from pipelet_app.settings import get_settings

# Loads Stripe.js once, mounts the card Element into #pay-card when it is on the page, and defines
# pipeletConfirm(secret, email): Stripe.js's confirmCardPayment, answering {status} or {error}.
MOUNT_JS = """
(function (url, key) {
  let tries = 0;
  const mount = function () {
    const target = document.getElementById('pay-card');
    if (!target || !window.Stripe) {
      if (++tries < 400) setTimeout(mount, 50);
      return;
    }
    if (target.dataset.mounted) return;
    target.dataset.mounted = '1';
    const stripe = window.Stripe(key);
    const card = stripe.elements().create('card');
    card.mount(target);
    window.pipeletPay = {stripe: stripe, card: card};
  };
  window.pipeletConfirm = async function (secret, email) {
    const pay = window.pipeletPay;
    if (!pay) return {error: 'The card form has not loaded; reload the page.'};
    const result = await pay.stripe.confirmCardPayment(
      secret, {payment_method: {card: pay.card, billing_details: {email: email}}});
    if (result.error) return {error: result.error.message || 'The card was not accepted.'};
    return {status: result.paymentIntent.status};
  };
  if (!window.Stripe && !document.getElementById('stripe-js')) {
    const script = document.createElement('script');
    script.id = 'stripe-js';
    script.src = url;
    document.head.appendChild(script);
  }
  mount();
})(%s, %s)
"""


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
    card_ready: bool = False  # Stripe.js is configured (publishable key): the page can take a card
    request_key: str = ""
    _pending: str = ""  # the token of the payment whose card Stripe.js is confirming (backend only)
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
        settings = get_settings()
        self.card_ready = bool(settings.stripe_publishable_key)
        if self.card_ready and self.available and not self.token:
            yield rx.call_script(
                MOUNT_JS % (json.dumps(settings.stripe_js_url), json.dumps(settings.stripe_publishable_key))
            )

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
        """The pay button: our server opens the payment's intent; Stripe.js confirms the card with it."""
        if self.busy or self.token or not self.card_ready:
            return
        self.busy, self.error = True, ""
        yield
        email = str(form.get("email", ""))
        try:
            view = await flow.pay(flow.PayRequest(self.charge_point, self.connector, email, self.request_key))
        except (GatewayUnavailable, RequestRefused, AppError) as exc:
            self.error, self.busy = str(getattr(exc, "message", None) or exc), False
            return
        if not view["secret"]:  # this press's payment is past waiting for a card
            async for event in self._done_events(view["token"]):
                yield event
            return
        self._pending = view["token"]
        yield rx.call_script(
            f"window.pipeletConfirm({json.dumps(view['secret'])}, {json.dumps(email)})",
            callback=PayState.confirmed,
        )

    @rx.event
    async def confirmed(self, result: dict[str, Any]):
        """Stripe.js is done with the card; what counts is what Stripe tells our server (flow.confirmed)."""
        token, self._pending = self._pending, ""
        if not token:
            return
        try:
            view = await flow.confirmed(token)
        except (GatewayUnavailable, AppError) as exc:
            self.error, self.busy = str(getattr(exc, "message", None) or exc), False
            return
        if view["state"] == "pending":  # not held (an incomplete card, 3-D Secure refused): try again
            error = result.get("error") if isinstance(result, dict) else None
            self.error, self.busy = str(error or "The card was not accepted; try again."), False
            return
        if view["state"] == "failed":  # declined: the next press is a new payment (and is counted)
            self.error, self.busy = view["note"], False
            self.request_key = secrets.token_urlsafe(18)
            return
        async for event in self._done_events(view["token"]):
            yield event

    async def _done_events(self, token: str):
        await self._show(token)
        self.busy = False
        if self.token:
            yield rx.redirect(f"/pay/{self.charge_point}/{self.connector}?p={self.token}", replace=True)
