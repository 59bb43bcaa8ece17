"""Reconciliation of holds that have waited too long: Stripe voids an uncaptured PaymentIntent 7 days
after it was authorised (https://docs.stripe.com/payments/place-a-hold-on-a-payment-method), after which
the money can no longer be taken. The sweep (flow.settle_due) captures when a session ends; a payment
still `authorized` after RECONCILE_AFTER is stuck (a session that never ended, a charger that never sent
its stop, a capture Stripe kept refusing) and is settled here instead, from what Stripe says:

- the intent still `requires_capture`: the session's price so far is captured (capped at the hold, the
  same rule as at the end: domain/payments.settle), or the hold cancelled (no session, under 2 kWh, no
  price). The payment's note says it was reconciled and why, so the operator sees it.
- the intent `succeeded` (captured, our record of it lost): recorded as captured.
- the intent `canceled` (Stripe voided it, or a cancel whose answer was lost): recorded as cancelled.

Idempotent: the same keys as the sweep (`pipelet-pay-<id>-capture` / `-cancel`), and the ledger moves
each payment forward once, so the sweep, the webhook and several processes may all run it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, col, select

from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, EntryKind, Payment, PaymentState
from pipelet_app.domain.payments import from_minor, settle
from pipelet_app.payments import flow, ledger
from pipelet_app.payments.gateway import GatewayUnavailable, RequestRefused, StripeGateway
from pipelet_app.services import pricing

LOGGER = logging.getLogger(__name__)
HOLD_LIFETIME = timedelta(days=7)  # Stripe's, for online card payments
RECONCILE_AFTER = timedelta(days=6)  # a day's margin before Stripe voids the hold
STUCK_AFTER = timedelta(hours=24)  # shown to the operator as stuck from then on (console.NEXT_STEP)


def due(db: Session, now: datetime) -> list[Payment]:
    return list(
        db.exec(
            select(Payment)
            .where(
                Payment.state == PaymentState.AUTHORIZED,
                Payment.provider == "stripe",  # a terminal's hold is the terminal's (payments/terminal.py)
                Payment.created_at < now - RECONCILE_AFTER,
            )
            .order_by(col(Payment.id))
        ).all()
    )


def reconcile_due(db: Session, gateway: StripeGateway, now: datetime | None = None) -> list[tuple[int, str]]:
    """Settle every stuck hold; answers (payment id, what was done) for the log and the tests."""
    now = now or utcnow()
    done: list[tuple[int, str]] = []
    for payment in due(db, now):
        try:
            outcome = _reconcile(db, gateway, payment)
        except (GatewayUnavailable, RequestRefused) as exc:  # unknown or refused: next round, same keys
            LOGGER.warning("payment %s not reconciled yet: %s", payment.id, exc)
            db.rollback()
            continue
        db.commit()
        if outcome:
            LOGGER.info("payment %s reconciled: %s", payment.id, outcome)
            done.append((payment.id, outcome))  # type: ignore[arg-type]
    return done


def _reconcile(db: Session, gateway: StripeGateway, payment: Payment) -> str:
    assert payment.id is not None
    if not payment.provider_ref:
        return ""
    intent = gateway.intent(payment.provider_ref)
    if intent.status == "canceled":
        voided = "reconciled: the hold was voided at Stripe; nothing charged"
        if ledger.move(payment, PaymentState.CANCELLED, voided):
            ledger.enter(db, payment, EntryKind.CANCELLED, payment.authorized_amount)
            flow.retire_tag(db, payment)
            db.add(payment)
        return "cancelled (voided at Stripe)"
    if intent.status == "succeeded":
        amount = from_minor(intent.amount_received, payment.currency) if intent.amount_received else None
        captured = amount if amount is not None else Decimal(payment.captured_amount or 0)
        if ledger.move(payment, PaymentState.CAPTURED, "reconciled: captured at Stripe"):
            payment.captured_amount = captured
            ledger.enter(db, payment, EntryKind.CAPTURED, captured)
            db.add(payment)
        return "captured (already at Stripe)"
    if intent.status != "requires_capture":
        return ""
    session = flow.session_of(db, payment)
    price: Decimal | None = None
    energy_wh = 0.0
    if session is not None:
        charger = db.get(Charger, payment.charger_id)
        if session.cost is not None and session.end_utc is not None:
            price = Decimal(session.cost)
        elif charger is not None:  # still open after 6 days: its price so far
            total = pricing.cost_of(db, charger, session).get("total")
            price = None if total is None else Decimal(total)
        energy_wh = session.energy_wh or 0.0
    outcome = settle(price, energy_wh, Decimal(payment.authorized_amount))
    still_open = session is not None and session.end_utc is None
    why = "the session had not ended" if still_open else "the session was not settled"
    if session is None:
        why = "the charger never reported a session"
    if outcome.cancel:
        flow.release(db, gateway, payment, f"reconciled ({why}): {outcome.reason}")
        return "cancelled"
    gateway.capture(payment.id, payment.provider_ref, outcome.capture, payment.currency)
    payment.captured_amount, payment.shortfall = outcome.capture, outcome.shortfall
    if ledger.move(payment, PaymentState.CAPTURED, f"reconciled ({why}): {outcome.reason}"):
        ledger.enter(db, payment, EntryKind.CAPTURED, outcome.capture)
        if outcome.shortfall:
            ledger.enter(db, payment, EntryKind.SHORTFALL, outcome.shortfall)
        flow.retire_tag(db, payment)
    db.add(payment)
    return f"captured {outcome.capture} {payment.currency}"


def reconcile_once() -> list[tuple[int, str]]:
    """One pass in its own transaction (the web app's `payments_reconcile` lifespan task calls this)."""
    try:
        gateway = StripeGateway()
    except GatewayUnavailable:
        return []
    with session_scope() as db:
        return reconcile_due(db, gateway)
