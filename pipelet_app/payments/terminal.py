"""Payter payment terminals: a card paid at the charger's own terminal, settled through the same ledger.

What a Payter terminal does (docs/payments.md §Payter): the terminal (Apollo, P68 ... beside or inside the
charger) pre-authorises the driver's card itself, with Payter as the acquirer; neither card data nor the
money pass through Pipelet or Stripe. It identifies the payment by the payment-service-provider
reference (`pspRef`) and the charger authorises the session with that reference as its id token. OCPP
2.1 standardises exactly this (use case C18, authorisation with a locally connected payment terminal:
idToken type `DirectPayment` whose value is the pspRef; after the session the terminal captures the
final cost and the station reports `NotifySettlement {transactionId, pspRef, status
Settled|Canceled|Rejected|Failed, settlementAmount, settlementTime, receiptUrl}`). Pipelet speaks OCPP
1.6 and 2.0.1, which have neither, so the terminal's integration (Payter's cloud or the charger
vendor's, acting with the operator's API key) reports the same two facts over our API in those shapes:

1. `authorized(...)` (`POST /api/v1/payments/terminal`): a pspRef pre-authorised `amount` at a connector.
   A `payments` row (`provider` payter, `provider_ref` the pspRef, `authorized`) and a one-time id token
   (type `DirectPayment`, the pspRef, valid 10 minutes) are written; the charger's Authorize /
   StartTransaction with that id tag is then accepted like any RFID card (a 1.6 idTag holds at most 20
   characters: a longer pspRef is refused naming the field).
2. The session is linked and priced like a Stripe one (flow.settle_due). When it has ended, the note says
   what the terminal is to take (the price capped at the hold, the same rule, domain/payments.settle);
   the terminal takes it itself (2.0.1 stations get the price as `totalCost`, 1.6 California chargers as
   FinalCost). Nothing is captured or cancelled by us: we have no hold to act on.
3. `settled(...)` (`POST /api/v1/payments/terminal/settlement`, NotifySettlement's fields): `Settled`
   captures `settlementAmount` in the ledger (a price above it is the shortfall), `Canceled` cancels;
   `Rejected` / `Failed` leave it authorised with the reason as the operator's next step. A repeated report
   changes nothing (the ledger moves forward once).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from pipelet_app.auth import InvalidInput, NotFound, Principal, require
from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Connector,
    EntryKind,
    IdToken,
    IdTokenStatus,
    Payment,
    PaymentState,
    Role,
    Site,
)
from pipelet_app.domain.payments import settle
from pipelet_app.domain.pricing import quantum
from pipelet_app.payments import ledger

PROVIDER = "payter"
TOKEN_TYPE = "DirectPayment"  # OCPP 2.1's IdTokenEnumStringType for a payment terminal's reference
START_WINDOW = timedelta(minutes=10)
STATUSES = ("Settled", "Canceled", "Rejected", "Failed")  # OCPP 2.1 PaymentStatusEnumType


def _amount(value: Any, name: str, currency: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{name}: not a number: {value!r}") from None
    q = quantum(currency)
    try:
        exact = amount.is_finite() and amount >= 0 and amount < 10**9 and amount == amount.quantize(q)
    except InvalidOperation:  # an exponent no quantize can take
        exact = False
    if not exact:
        raise InvalidInput(f"{name}: a non-negative amount below 1e9 in {q} steps of {currency}")
    return amount


def _psp_ref(value: Any, limit: int) -> str:
    ref = str(value or "").strip()
    if not ref or len(ref) > limit or any(c.isspace() for c in ref):
        raise InvalidInput(f"psp_ref: 1-{limit} characters without spaces (the charger's id-token limit)")
    return ref


def authorized(
    db: Session, principal: Principal, charge_point_id: str, connector_id: int, psp_ref: Any, amount: Any
) -> dict[str, Any]:
    """A terminal pre-authorised a card at this connector: the payment and its one-time id token.
    Idempotent: the same pspRef again answers the same payment."""
    require(principal, Role.OPERATOR)
    charger = db.exec(select(Charger).where(Charger.charge_point_id == charge_point_id)).first()
    if charger is None or charger.tenant_id != principal.tenant_id:
        raise NotFound("No such charger in your tenant.")
    connector = db.exec(
        select(Connector).where(Connector.charger_id == charger.id, Connector.connector_id == connector_id)
    ).first()
    site = db.get(Site, charger.site_id) if charger.site_id is not None else None
    if connector is None or site is None:
        raise InvalidInput("connector_id: no such connector at a site on this charger")
    ref = _psp_ref(psp_ref, 20 if (charger.ocpp_version or "1.6") == "1.6" else 36)
    hold = _amount(amount, "amount", site.currency)
    if hold <= 0:
        raise InvalidInput("amount: the pre-authorised amount must be above 0")
    key = f"payter-{charger.id}-{ref}"
    existing = db.exec(select(Payment).where(Payment.request_key == key)).first()
    if existing is not None:
        return row(existing)
    taken = db.exec(
        select(IdToken).where(IdToken.tenant_id == charger.tenant_id, IdToken.token == ref)
    ).first()
    if taken is not None:
        raise InvalidInput("psp_ref: already used as an id token in your tenant")
    payment = Payment(
        tenant_id=charger.tenant_id,  # type: ignore[arg-type]
        charger_id=charger.id,  # type: ignore[arg-type]
        connector_id=connector_id,
        id_tag=ref,
        provider=PROVIDER,
        provider_ref=ref,
        request_key=key,
        public_token=secrets.token_urlsafe(24),
        currency=site.currency,
        authorized_amount=hold,
    )
    ledger.move(payment, PaymentState.AUTHORIZED, "authorised at the terminal; waiting for the session")
    db.add(payment)
    db.add(
        IdToken(
            tenant_id=charger.tenant_id,  # type: ignore[arg-type]
            token=ref,
            type=TOKEN_TYPE,
            status=IdTokenStatus.ACCEPTED,
            expires_at=utcnow() + START_WINDOW,
        )
    )
    try:
        db.flush()
    except IntegrityError:  # the same report, a moment earlier, elsewhere
        db.rollback()
        return row(db.exec(select(Payment).where(Payment.request_key == key)).one())
    ledger.enter(db, payment, EntryKind.AUTHORIZED, hold)
    db.commit()
    return row(payment)


def step(db: Session, payment: Payment, session: ChargingSession | None, now: datetime) -> int:
    """The sweep's part for a terminal payment (nothing to call: the terminal holds the money)."""
    if session is None:
        if payment.created_at + START_WINDOW < now and ledger.move(
            payment, PaymentState.CANCELLED, "the charger never started: the terminal releases its hold"
        ):
            ledger.enter(db, payment, EntryKind.CANCELLED, payment.authorized_amount)
            ledger.retire_tag(db, payment)
            db.add(payment)
            return 1
        return 0
    if session.end_utc is None or payment.note.startswith("ended"):
        return 0
    outcome = settle(
        None if session.cost is None else Decimal(session.cost),
        session.energy_wh,
        Decimal(payment.authorized_amount),
    )
    q = quantum(payment.currency)
    payment.note = f"ended: the terminal is to take {outcome.capture.quantize(q)} {payment.currency}"
    if outcome.cancel:
        payment.note = f"ended ({outcome.reason}): the terminal is to cancel its hold"
    db.add(payment)
    return 1


def settled(db: Session, principal: Principal, report: dict[str, Any]) -> dict[str, Any]:
    """The terminal's settlement (OCPP 2.1 NotifySettlement's fields) into the ledger."""
    require(principal, Role.OPERATOR)
    ref = _psp_ref(report.get("psp_ref"), 255)
    status = str(report.get("status") or "")
    if status not in STATUSES:
        raise InvalidInput(f"status: one of {', '.join(STATUSES)}")
    payment = db.exec(
        select(Payment).where(
            Payment.provider == PROVIDER,
            Payment.provider_ref == ref,
            Payment.tenant_id == principal.tenant_id,
        )
    ).first()
    if payment is None:
        raise NotFound("No terminal payment with this psp_ref at your chargers.")
    amount = _amount(report.get("settlement_amount"), "settlement_amount", payment.currency)
    info = str(report.get("status_info") or "")[:200]
    if status == "Settled":
        if amount > payment.authorized_amount:
            raise InvalidInput("settlement_amount: above the amount the terminal authorised")
        session = db.get(ChargingSession, payment.session_id) if payment.session_id else None
        price = Decimal(session.cost) if session is not None and session.cost is not None else None
        if ledger.move(payment, PaymentState.CAPTURED, f"settled at the terminal {info}".strip()):
            payment.captured_amount = amount
            payment.shortfall = max(Decimal(0), price - amount) if price is not None else Decimal(0)
            ledger.enter(db, payment, EntryKind.CAPTURED, amount)
            if payment.shortfall:
                ledger.enter(db, payment, EntryKind.SHORTFALL, payment.shortfall)
    elif status == "Canceled":
        if ledger.move(payment, PaymentState.CANCELLED, f"cancelled at the terminal {info}".strip()):
            payment.captured_amount = Decimal(0)
            ledger.enter(db, payment, EntryKind.CANCELLED, payment.authorized_amount)
    elif payment.state == PaymentState.AUTHORIZED:
        reason = info or "no reason given"
        payment.note = f"settlement {status.lower()} at the terminal: {reason}; it must retry"
    db.add(payment)
    db.commit()
    return row(payment)


def row(payment: Payment) -> dict[str, Any]:
    q = quantum(payment.currency)

    def money(value: Decimal | None) -> str | None:
        return None if value is None else str(Decimal(value).quantize(q))

    return {
        "id": payment.id,
        "provider": payment.provider,
        "psp_ref": payment.provider_ref,
        "state": PaymentState(payment.state).value,
        "note": payment.note,
        "currency": payment.currency,
        "authorized": money(payment.authorized_amount),
        "captured": money(payment.captured_amount),
        "shortfall": money(payment.shortfall),
    }
