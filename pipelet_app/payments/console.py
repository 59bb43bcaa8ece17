"""The operator's view of card payments at its chargers, and refunds. Operators only; another tenant's
payment is 404 like a missing one. Every state comes with the next step, so nothing waits unseen."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, col, func, select

from pipelet_app.auth import InvalidInput, NotFound, Principal, require
from pipelet_app.clock import utcnow
from pipelet_app.db.models import Charger, ChargingSession, EntryKind, Payment, PaymentState, Role
from pipelet_app.domain.pricing import quantum
from pipelet_app.payments import ledger, reconcile
from pipelet_app.payments.gateway import StripeGateway

#: The next step by its code (`next_step_code`): the API answers this English; the operator's page words
#: the code through the catalogue (`payments.step.<code>`).
NEXT_STEP = {
    PaymentState.PENDING.value: "waiting for Stripe's answer; the sweep asks again with the same key",
    PaymentState.AUTHORIZED.value: (
        "waiting for the session to start or end; captured or cancelled automatically"
    ),
    PaymentState.CAPTURED.value: "done; a refund is possible",
    PaymentState.CANCELLED.value: "done; nothing was charged",
    PaymentState.FAILED.value: "done; nothing was charged, no session started",
    "refunded": "done; refunded",
    "terminal": "waiting for the session to end and the terminal's settlement (it captures by itself)",
    "stuck": (
        "stuck: the session has not ended or was not settled; reconciliation captures its price so far"
        " or cancels on day 6 (Stripe voids a hold after 7 days)"
    ),
}
LIMIT = 200


def next_step_code(state: PaymentState | str, refunded: bool, stuck: bool, provider: str = "stripe") -> str:
    state = PaymentState(state)
    if refunded:
        return "refunded"
    if state == PaymentState.AUTHORIZED and provider == "payter":
        return "terminal"
    if stuck:
        return "stuck"
    return state.value


def next_step(state: PaymentState, refunded: bool, stuck: bool, provider: str = "stripe") -> str:
    return NEXT_STEP[next_step_code(state, refunded, stuck, provider)]


def _row(db: Session, payment: Payment, cp_id: str) -> dict[str, Any]:
    state = PaymentState(payment.state)
    session = db.get(ChargingSession, payment.session_id) if payment.session_id else None
    q = quantum(payment.currency)

    def money(value: Decimal | None) -> str | None:
        return None if value is None else str(Decimal(value).quantize(q))

    held_since = utcnow() - reconcile.STUCK_AFTER
    stuck = payment.provider == "stripe" and state == PaymentState.AUTHORIZED
    stuck = stuck and payment.created_at < held_since
    refunded = next((e.amount for e in ledger.entries(db, payment.id) if e.kind == EntryKind.REFUNDED), None)  # type: ignore[arg-type]
    return {
        "id": payment.id,
        "charge_point_id": cp_id,
        "connector_id": payment.connector_id,
        "transaction_id": session.transaction_id if session else None,
        "provider": payment.provider,
        "state": state.value,
        "note": payment.note,
        "next_step": next_step(state, refunded is not None, stuck, payment.provider),
        "stuck": stuck,
        "currency": payment.currency,
        "authorized": money(payment.authorized_amount),
        "captured": money(payment.captured_amount),
        "shortfall": money(payment.shortfall),
        "refunded": money(refunded),
        "created_utc": payment.created_at,
    }


PROVIDERS = ("stripe", "payter")


def list_payments(
    db: Session, principal: Principal, state: str = "", provider: str = "", charge_point_id: str = ""
) -> list[dict[str, Any]]:
    """The latest LIMIT payments, optionally only those in `state`, paid by `provider`, at chargers
    whose id contains `charge_point_id` (case-insensitive)."""
    require(principal, Role.OPERATOR)
    query = (
        select(Payment, Charger.charge_point_id)
        .join(Charger, Charger.id == Payment.charger_id)
        .where(Payment.tenant_id == principal.tenant_id, Charger.tenant_id == principal.tenant_id)
    )
    if state:
        if state not in {s.value for s in PaymentState}:
            raise InvalidInput(f"state: one of {', '.join(s.value for s in PaymentState)}")
        query = query.where(Payment.state == PaymentState(state))
    if provider:
        if provider not in PROVIDERS:
            raise InvalidInput(f"provider: one of {', '.join(PROVIDERS)}")
        query = query.where(Payment.provider == provider)
    if charge_point_id:
        if len(charge_point_id) > 64:
            raise InvalidInput("charge_point_id: at most 64 characters")
        query = query.where(func.upper(Charger.charge_point_id).contains(charge_point_id.upper()))
    rows = db.exec(query.order_by(col(Payment.id).desc()).limit(LIMIT)).all()
    return [_row(db, payment, cp_id) for payment, cp_id in rows]


def refund(
    db: Session, principal: Principal, payment_id: int, amount: Any, gateway: StripeGateway | None = None
) -> dict[str, Any]:
    """Refund part or all of a captured payment, once."""
    require(principal, Role.OPERATOR)
    payment = db.get(Payment, payment_id)
    if payment is None or payment.tenant_id != principal.tenant_id:
        raise NotFound("Not found.")
    if payment.provider != "stripe":
        raise InvalidInput("payment: a terminal payment is refunded at the terminal")
    if payment.state != PaymentState.CAPTURED or not payment.captured_amount or not payment.provider_ref:
        raise InvalidInput("payment: only a captured card payment can be refunded")
    if any(e.kind == EntryKind.REFUNDED for e in ledger.entries(db, payment.id)):  # type: ignore[arg-type]
        raise InvalidInput("payment: already refunded (one refund per payment)")
    try:
        value = Decimal(str(amount)) if amount is not None else Decimal(payment.captured_amount)
    except InvalidOperation:
        raise InvalidInput(f"amount: not a number: {amount!r}") from None
    q = quantum(payment.currency)
    if not value.is_finite() or value <= 0 or value > payment.captured_amount or value != value.quantize(q):
        raise InvalidInput(f"amount: above 0, at most {payment.captured_amount.quantize(q)}, in {q} steps")
    (gateway or StripeGateway()).refund(payment.id, payment.provider_ref, value, payment.currency)  # type: ignore[arg-type]
    ledger.enter(db, payment, EntryKind.REFUNDED, value)
    payment.note = f"refunded {value} {payment.currency}"
    db.add(payment)
    db.commit()
    charger = db.get(Charger, payment.charger_id)
    return _row(db, payment, charger.charge_point_id if charger else "")
