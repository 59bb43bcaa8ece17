"""The ledger's two rules: a payment's state only moves forward, and each kind of money movement is
entered once per payment (the unique (payment_id, kind) makes a second capture entry impossible).

Both the sweep that settles sessions and the Stripe webhook move payments through here, in any order
and any number of times: whichever comes first wins, the other changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, select

from pipelet_app.clock import utcnow
from pipelet_app.db.models import EntryKind, IdToken, IdTokenStatus, Payment, PaymentEntry, PaymentState

_NEXT: dict[PaymentState, frozenset[PaymentState]] = {
    PaymentState.PENDING: frozenset(
        {PaymentState.AUTHORIZED, PaymentState.FAILED, PaymentState.CANCELLED, PaymentState.CAPTURED}
    ),
    PaymentState.AUTHORIZED: frozenset({PaymentState.CAPTURED, PaymentState.CANCELLED}),
    PaymentState.CAPTURED: frozenset(),
    PaymentState.CANCELLED: frozenset(),
    PaymentState.FAILED: frozenset(),
}


def move(payment: Payment, state: PaymentState, note: str | None = None) -> bool:
    """Move forward to `state`; False (and nothing changed) when that is not a step forward."""
    if state not in _NEXT[PaymentState(payment.state)]:
        return False
    payment.state = state
    if note is not None:
        payment.note = note
    payment.updated_at = utcnow()
    return True


def enter(db: Session, payment: Payment, kind: EntryKind, amount: Decimal) -> None:
    """Append an entry unless this payment already has one of that kind."""
    assert payment.id is not None
    exists = db.exec(
        select(PaymentEntry.id).where(PaymentEntry.payment_id == payment.id, PaymentEntry.kind == kind)
    ).first()
    if exists is None:
        db.add(PaymentEntry(payment_id=payment.id, kind=kind, amount=amount))


def entries(db: Session, payment_id: int) -> list[PaymentEntry]:
    return list(
        db.exec(
            select(PaymentEntry).where(PaymentEntry.payment_id == payment_id).order_by(PaymentEntry.id)
        ).all()
    )


def retire_tag(db: Session, payment: Payment) -> None:
    """Block a payment's one-time id tag once its session started or the payment ended."""
    token = db.exec(
        select(IdToken).where(IdToken.tenant_id == payment.tenant_id, IdToken.token == payment.id_tag)
    ).first()
    if token is not None and token.status != IdTokenStatus.BLOCKED:
        token.status = IdTokenStatus.BLOCKED  # used once: a copied tag starts nothing else
        db.add(token)
