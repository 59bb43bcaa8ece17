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


class RequestRefused(Exception):
    """Stripe answered and refused the request (an intent not in a state for it, e.g. cancelling one
    Stripe already voided): nothing happened; the caller asks for the intent's state instead."""


@dataclass(frozen=True)
class Intent:
    id: str
    status: str  # Stripe's: requires_capture, succeeded, canceled, requires_payment_method ...
    client_secret: str = ""  # for the pay page's Stripe.js only; never logged nor stored
    error: str = ""  # the last attempt's refusal (a declined card), if any
    amount_received: int = 0  # minor units captured


def _intent(obj: Any) -> Intent:
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    error = data.get("last_payment_error") or {}
    return Intent(
        id=str(data["id"]),
        status=str(data["status"]),
        client_secret=str(data.get("client_secret") or ""),
        error=str(error.get("message") or "") if isinstance(error, dict) else "",
        amount_received=int(data.get("amount_received") or 0),
    )


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
        except stripe.InvalidRequestError as exc:
            raise RequestRefused(exc.user_message or str(exc)) from None
        except (stripe.APIConnectionError, stripe.AuthenticationError, stripe.APIError) as exc:
            raise GatewayUnavailable(f"Stripe: {exc.user_message or type(exc).__name__}") from None

    def open_intent(
        self, payment_id: int, amount: Decimal, currency: str, metadata: dict[str, str]
    ) -> Intent:
        """A card PaymentIntent with manual capture for the hold, not yet confirmed: its client_secret goes
        to the pay page, whose Stripe.js confirms it with the card straight at Stripe (card data never
        reaches our server). Whether the hold is in place is asked of Stripe afterwards (`intent`)."""
        params = {
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "capture_method": "manual",
            "payment_method_types": ["card"],
            "metadata": metadata,
        }
        options = {"idempotency_key": key(payment_id, "authorize")}
        return _intent(self._call(self.client.v1.payment_intents.create, params, options))

    def intent(self, intent_id: str) -> Intent:
        """The intent as Stripe has it now: the only source we trust for "the card holds the money"."""
        return _intent(self._call(self.client.v1.payment_intents.retrieve, intent_id))

    def capture(self, payment_id: int, intent_id: str, amount: Decimal, currency: str) -> Intent:
        params = {"amount_to_capture": to_minor(amount, currency)}
        options = {"idempotency_key": key(payment_id, "capture")}
        return _intent(self._call(self.client.v1.payment_intents.capture, intent_id, params, options))

    def cancel(self, payment_id: int, intent_id: str) -> Intent:
        options = {"idempotency_key": key(payment_id, "cancel")}
        return _intent(self._call(self.client.v1.payment_intents.cancel, intent_id, {}, options))

    def refund(self, payment_id: int, intent_id: str, amount: Decimal, currency: str) -> str:
        """Give back `amount` of a captured payment; one refund per payment (its key says so)."""
        params = {"payment_intent": intent_id, "amount": to_minor(amount, currency)}
        options = {"idempotency_key": key(payment_id, "refund")}
        refund = self._call(self.client.v1.refunds.create, params, options)
        return str(refund.status)
