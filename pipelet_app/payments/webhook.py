"""Stripe's webhook: verify, then apply each event once.

- The body is refused above MAX_BODY bytes before anything is parsed (413).
- `Stripe-Signature` is checked with `STRIPE_WEBHOOK_SECRET` by the library (HMAC-SHA256 over
  "timestamp.body"); a signature older than TOLERANCE_S is a replay and refused like a forgery (400).
- A verified event whose id was handled before changes nothing (`payment_events.event_id` is unique).
- Events move our payment forward only (ledger.move), so an event that arrives after the sweep already
  captured or cancelled the payment is recorded and otherwise ignored.
"""

from __future__ import annotations

from typing import Any

import stripe
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from pipelet_app.db.models import EntryKind, Payment, PaymentEvent, PaymentState
from pipelet_app.domain.payments import from_minor
from pipelet_app.errors import AppError
from pipelet_app.payments import flow, ledger
from pipelet_app.settings import get_settings

MAX_BODY = 64 * 1024
TOLERANCE_S = 300


class BadWebhook(AppError):
    status = 400


class WebhookTooLarge(AppError):
    status = 413


def verify(body: bytes, signature: str | None) -> dict[str, Any]:
    if len(body) > MAX_BODY:
        raise WebhookTooLarge(f"body: larger than {MAX_BODY} bytes")
    secret = get_settings().stripe_webhook_secret
    if not secret:
        raise BadWebhook("STRIPE_WEBHOOK_SECRET is not set: webhooks are refused")
    if not signature:
        raise BadWebhook("Stripe-Signature: missing")
    try:
        event = stripe.Webhook.construct_event(body.decode("utf-8"), signature, secret, tolerance=TOLERANCE_S)
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError):
        raise BadWebhook("Stripe-Signature: does not match the body, or too old") from None
    return event.to_dict()


def handle(db: Session, event: dict[str, Any]) -> dict[str, Any]:
    """Apply a verified event once; answers what happened (for the log and the tests) and `start`, the
    payment whose connector the caller must now start (this event authorised it), or None."""
    event_id, kind = str(event.get("id") or ""), str(event.get("type") or "")
    if not event_id:
        raise BadWebhook("id: an event without an id")
    db.add(PaymentEvent(event_id=event_id, type=kind))
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        return {"event": event_id, "result": "duplicate"}
    obj = (event.get("data") or {}).get("object") or {}
    result, start = "ignored", None
    if obj.get("object") == "payment_intent":
        payment = db.exec(
            select(Payment).where(Payment.provider == "stripe", Payment.provider_ref == str(obj.get("id")))
        ).first()
        if payment is not None:
            result = _apply(db, payment, kind, obj)
            if result == "start":
                result, start = "applied", payment.id
    db.commit()
    return {"event": event_id, "result": result, "start": start}


def _apply(db: Session, payment: Payment, kind: str, intent: dict[str, Any]) -> str:
    moved = False
    if kind == "payment_intent.amount_capturable_updated" and intent.get("status") == "requires_capture":
        # The card holds the money (Stripe says so, signed). A payment still waiting is authorised here
        # if the page's own check has not done it yet; the route then starts the charger. A payment that
        # already ended (declined, given up) never starts: its late hold is released at once.
        if payment.state == PaymentState.PENDING:
            moved = flow.authorize_once(db, payment)
            return "start" if moved else "no change"
        if payment.state in (PaymentState.FAILED, PaymentState.CANCELLED):
            flow.release_late_hold(payment)
            return "released"
    elif kind == "payment_intent.succeeded":
        amount = from_minor(int(intent.get("amount_received") or intent.get("amount") or 0), payment.currency)
        moved = ledger.move(payment, PaymentState.CAPTURED, "captured (Stripe event)")
        if moved:
            payment.captured_amount = payment.captured_amount or amount
            ledger.enter(db, payment, EntryKind.CAPTURED, payment.captured_amount)
    elif kind == "payment_intent.canceled":
        moved = ledger.move(payment, PaymentState.CANCELLED, "cancelled (Stripe event)")
        if moved:
            ledger.enter(db, payment, EntryKind.CANCELLED, payment.authorized_amount)
    elif kind == "payment_intent.payment_failed":
        moved = ledger.move(payment, PaymentState.FAILED, "declined (Stripe event)")
    db.add(payment)
    return "applied" if moved else "no change"
