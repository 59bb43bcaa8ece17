"""Stripe through the `stripe` library, and nothing else of Stripe anywhere in the code.

Every create, capture and cancel carries an idempotency key derived from our payment's id and the
operation (`pipelet-pay-<id>-capture`), so a retry (the library's own network retries, a second sweep,
a restart) is the same request to Stripe and can never take money twice. `STRIPE_API_BASE` points the
client at a local fake in tests (localstripe); amounts travel in the currency's minor unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import stripe

from pipelet_app.domain.payments import to_minor
from pipelet_app.settings import get_settings


class PaymentDeclined(Exception):
    """The card was refused: the message is the provider's, safe to show to the driver."""


class GatewayUnavailable(Exception):
    """Stripe did not answer or is not configured; nothing is known to have happened."""


@dataclass(frozen=True)
class Intent:
    id: str
    status: str  # Stripe's: requires_capture, succeeded, canceled, requires_payment_method ...


def key(payment_id: int, operation: str) -> str:
    return f"pipelet-pay-{payment_id}-{operation}"


class StripeGateway:
    def __init__(self, api_key: str | None = None, api_base: str | None = None) -> None:
        settings = get_settings()
        api_key = api_key or settings.stripe_api_key
        if not api_key:
            raise GatewayUnavailable("STRIPE_API_KEY is not set: card payments are off")
        base = api_base or settings.stripe_api_base
        self.client = stripe.StripeClient(
            api_key, base_addresses={"api": base} if base else None, max_network_retries=2
        )

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except stripe.CardError as exc:
            raise PaymentDeclined(exc.user_message or "the card was declined") from None
        except (stripe.APIConnectionError, stripe.AuthenticationError, stripe.APIError) as exc:
            raise GatewayUnavailable(f"Stripe: {exc.user_message or type(exc).__name__}") from None

    def card_method(self, number: str, exp_month: int, exp_year: int, cvc: str) -> str:
        """A PaymentMethod from card fields. Only for the test-mode pay form (docs/payments.md): in
        production the card goes from the browser to Stripe (Elements) and only the id reaches us."""
        card = {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc}
        method = self._call(self.client.v1.payment_methods.create, {"type": "card", "card": card})
        return str(method.id)

    def authorize(
        self, payment_id: int, amount: Decimal, currency: str, payment_method: str, metadata: dict[str, str]
    ) -> Intent:
        """A PaymentIntent with manual capture, confirmed at once: the card holds `amount`."""
        params = {
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "capture_method": "manual",
            "payment_method": payment_method,
            "confirm": True,
            "metadata": metadata,
        }
        options = {"idempotency_key": key(payment_id, "authorize")}
        intent = self._call(self.client.v1.payment_intents.create, params, options)
        return Intent(str(intent.id), str(intent.status))

    def capture(self, payment_id: int, intent_id: str, amount: Decimal, currency: str) -> Intent:
        params = {"amount_to_capture": to_minor(amount, currency)}
        options = {"idempotency_key": key(payment_id, "capture")}
        intent = self._call(self.client.v1.payment_intents.capture, intent_id, params, options)
        return Intent(str(intent.id), str(intent.status))

    def cancel(self, payment_id: int, intent_id: str) -> Intent:
        options = {"idempotency_key": key(payment_id, "cancel")}
        intent = self._call(self.client.v1.payment_intents.cancel, intent_id, {}, options)
        return Intent(str(intent.id), str(intent.status))

    def refund(self, payment_id: int, intent_id: str, amount: Decimal, currency: str) -> str:
        """Give back `amount` of a captured payment; one refund per payment (its key says so)."""
        params = {"payment_intent": intent_id, "amount": to_minor(amount, currency)}
        options = {"idempotency_key": key(payment_id, "refund")}
        refund = self._call(self.client.v1.refunds.create, params, options)
        return str(refund.status)
