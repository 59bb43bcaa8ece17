"""The pay flow of a public connector: offer -> card pre-authorisation -> remote start -> settle.

A driver scans a connector's QR code and opens its pay page; nobody is signed in, so the page can see
only (a) what the connector offers (price, pre-authorisation amount, whether it can start now) and
(b) the one payment whose secret `public_token` it holds. Nothing of other sessions is reachable.

Paying creates a `payments` row first (keyed by the page's `request_key`, so a double-clicked button
finds the same row), then pre-authorises the card (manual capture, the site's `preauth_amount`), then
issues a one-time id tag in the charger's tenant and starts the connector through the CSMS command path
with that tag; the charger's StartTransaction is authorised like any RFID card. The sweep
(`settle_due`) links the session to its payment, and when the session has ended captures the final
price capped at the authorisation (domain/payments.py), or cancels (under 2 kWh, no price, or the
charger never started within START_WINDOW), then e-mails the receipt.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from pipelet_app.auth import InvalidInput, NotFound
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Connector,
    EntryKind,
    IdToken,
    IdTokenStatus,
    Payment,
    PaymentState,
    PricingPlan,
    Site,
)
from pipelet_app.domain.payments import settle
from pipelet_app.domain.pricing import quantum
from pipelet_app.notify.mail import MailNotConfigured, send_mail
from pipelet_app.payments import ledger
from pipelet_app.payments.gateway import GatewayUnavailable, PaymentDeclined, StripeGateway
from pipelet_app.services import pricing

LOGGER = logging.getLogger(__name__)
START_WINDOW = timedelta(minutes=10)  # the pay tag's life; a charger that has not started by then is given up
STARTABLE = {"Available", "Preparing"}
DECLINES_ALLOWED, DECLINE_WINDOW = 5, timedelta(minutes=15)
PENDING_GIVE_UP = timedelta(minutes=10)  # Stripe never answered the authorisation
_TAG_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class PayRequest:
    charge_point_id: str
    connector_id: int
    email: str
    payment_method: str  # a Stripe PaymentMethod id
    request_key: str  # one per press of the pay button (the page makes it when it renders)


def _connector(db: Session, charge_point_id: str, connector_id: int) -> tuple[Charger, Site, Connector]:
    """The connector behind a QR code, if it is payable: claimed, at a site, with a pricing plan."""
    charger = db.exec(select(Charger).where(Charger.charge_point_id == charge_point_id)).first()
    if charger is None or charger.tenant_id is None or charger.site_id is None or not charger.pricing_plan_id:
        raise NotFound("No payable connector here.")
    connector = db.exec(
        select(Connector).where(Connector.charger_id == charger.id, Connector.connector_id == connector_id)
    ).first()
    site = db.get(Site, charger.site_id)
    if connector is None or site is None:
        raise NotFound("No payable connector here.")
    return charger, site, connector


def offer(db: Session, charge_point_id: str, connector_id: int) -> dict[str, Any]:
    """What the pay page shows before paying: the price, the hold on the card, and whether it can start."""
    charger, site, connector = _connector(db, charge_point_id, connector_id)
    plan = db.get(PricingPlan, charger.pricing_plan_id)
    assert plan is not None
    return {
        "charge_point_id": charger.charge_point_id,
        "connector_id": connector.connector_id,
        "site": site.name,
        "currency": site.currency,
        "preauth": str(_hold(site)),
        "tariff": tariff_lines(plan.definition, Decimal(charger.price_multiplier), site.currency),
        "available": charger.is_online and connector.status in STARTABLE,
    }


def _hold(site: Site) -> Decimal:
    return Decimal(site.preauth_amount).quantize(quantum(site.currency))


def tariff_lines(definition: dict[str, Any], multiplier: Decimal, currency: str) -> list[str]:
    """The plan in words a driver reads on the page, the charger's multiplier applied."""
    q = quantum(currency)

    def money(value: str) -> str:
        return f"{(Decimal(value) * multiplier).quantize(q)} {currency}"

    lines = [f"{money(definition['base']['per_kwh'])} per kWh"]
    if Decimal(definition["base"].get("per_hour", "0")):
        lines.append(f"{money(definition['base']['per_hour'])} per hour of charging")
    for window in definition.get("windows", []):
        lines.append(
            f"{window['label']} {window['start']}-{window['end']}: {money(window['rate']['per_kwh'])} per kWh"
        )
    if Decimal(definition.get("session_fee", "0")):
        lines.append(f"{money(definition['session_fee'])} per session")
    if Decimal(definition.get("idle_fee_per_minute", "0")):
        grace = definition.get("idle_grace_minutes", 0)
        lines.append(f"{money(definition['idle_fee_per_minute'])} per minute idle after {grace} min")
    return lines


def _check(request: PayRequest) -> None:
    email = request.email.strip()
    if not email or "@" not in email or len(email) > 254 or any(c in email for c in " \r\n,;<>"):
        raise InvalidInput("email: an e-mail address for the receipt")
    if not 8 <= len(request.request_key) <= 100:
        raise InvalidInput("request_key: missing; reload the page")
    if not request.payment_method.startswith("pm_"):
        raise InvalidInput("payment_method: the card was not accepted; enter it again")


def _throttle(db: Session, charger_id: int, connector_id: int) -> None:
    """Card testing (trying stolen numbers on a public form) shows as a run of refusals at one connector:
    after DECLINES_ALLOWED declined or unanswered attempts within DECLINE_WINDOW, the connector takes no
    card until the window has passed."""
    since = utcnow() - DECLINE_WINDOW
    refused = db.exec(
        select(func.count())
        .select_from(Payment)
        .where(
            Payment.charger_id == charger_id,
            Payment.connector_id == connector_id,
            col(Payment.state).in_([PaymentState.FAILED, PaymentState.PENDING]),
            Payment.created_at >= since,
        )
    ).one()
    if refused >= DECLINES_ALLOWED:
        raise InvalidInput("card: too many refused cards at this connector; try again in a few minutes")


def authorize(db: Session, gateway: StripeGateway, request: PayRequest) -> tuple[Payment, bool]:
    """The payment for this button press and whether this call created it: a double click (even two
    at once) finds the first one, and only its creator starts the charger."""
    _check(request)
    existing = db.exec(select(Payment).where(Payment.request_key == request.request_key)).first()
    if existing is not None:
        return existing, False
    charger, site, connector = _connector(db, request.charge_point_id, request.connector_id)
    if not (charger.is_online and connector.status in STARTABLE):
        raise InvalidInput(
            "connector: this connector cannot start now (offline or in use); nothing was charged"
        )
    _throttle(db, charger.id, connector.connector_id)  # type: ignore[arg-type]
    payment = Payment(
        tenant_id=charger.tenant_id,  # type: ignore[arg-type]
        charger_id=charger.id,  # type: ignore[arg-type]
        connector_id=connector.connector_id,
        id_tag="PAY" + "".join(secrets.choice(_TAG_ALPHABET) for _ in range(12)),
        request_key=request.request_key,
        public_token=secrets.token_urlsafe(24),
        currency=site.currency,
        authorized_amount=_hold(site),
        email=request.email.strip(),
    )
    db.add(payment)
    try:
        db.commit()  # the row (and its key) exists before Stripe is asked: a retry reuses both
    except IntegrityError:  # the same press, a moment earlier, on another worker
        db.rollback()
        return db.exec(select(Payment).where(Payment.request_key == request.request_key)).one(), False
    metadata = {"payment_id": str(payment.id), "charge_point_id": charger.charge_point_id}
    try:
        intent = gateway.authorize(
            payment.id,
            payment.authorized_amount,
            payment.currency,
            request.payment_method,
            metadata,  # type: ignore[arg-type]
        )
    except PaymentDeclined as exc:
        ledger.move(payment, PaymentState.FAILED, f"declined: {exc}")
        db.add(payment)
        db.commit()
        return payment, True
    payment.provider_ref = intent.id
    if intent.status != "requires_capture":
        ledger.move(payment, PaymentState.FAILED, f"card not authorised ({intent.status})")
    else:
        ledger.move(payment, PaymentState.AUTHORIZED, "authorised; starting the charger")
        ledger.enter(db, payment, EntryKind.AUTHORIZED, payment.authorized_amount)
        db.add(
            IdToken(
                tenant_id=payment.tenant_id,
                token=payment.id_tag,
                status=IdTokenStatus.ACCEPTED,
                expires_at=utcnow() + START_WINDOW,
            )
        )
    db.add(payment)
    db.commit()
    return payment, True


async def pay(request: PayRequest, gateway: StripeGateway | None = None) -> dict[str, Any]:
    """Authorise, then start the connector; a refused start cancels the authorisation at once."""
    from pipelet_app.ocpp.commands import CommandError, send_command

    gateway = gateway or StripeGateway()

    def _authorize() -> tuple[int, str, str, bool]:
        with session_scope() as db:
            p, created = authorize(db, gateway, request)
            fresh = created and p.state == PaymentState.AUTHORIZED
            return p.id, p.public_token, p.id_tag, fresh  # type: ignore[return-value]

    payment_id, token, tag, fresh = await asyncio.to_thread(_authorize)
    if fresh:
        try:
            answer = await send_command(
                request.charge_point_id, "remote-start", {"idTag": tag, "connectorId": request.connector_id}
            )
            accepted = answer.get("status") == "Accepted"
        except CommandError as exc:
            LOGGER.warning("pay %s: remote start failed: %s", payment_id, exc)
            accepted = False
        await asyncio.to_thread(_after_start, gateway, payment_id, accepted)
    return await asyncio.to_thread(_status_by_token, token)


def _after_start(gateway: StripeGateway, payment_id: int, accepted: bool) -> None:
    with session_scope() as db:
        payment = db.get(Payment, payment_id)
        assert payment is not None
        if accepted:
            if payment.note.startswith("authorised"):
                payment.note = "charger accepted the start; plug in"
                db.add(payment)
        else:
            _release(db, gateway, payment, "the charger refused to start: authorisation cancelled")


def _status_by_token(token: str) -> dict[str, Any]:
    with session_scope() as db:
        return status(db, token)


def _money(amount: Decimal | None, currency: str) -> str | None:
    """An amount as the currency prints it (the NUMERIC column keeps 3 decimals for every currency)."""
    return None if amount is None else str(Decimal(amount).quantize(quantum(currency)))


def status(db: Session, public_token: str) -> dict[str, Any]:
    """The pay page's view of its own payment (found by its secret token only) and its session."""
    payment = (
        db.exec(select(Payment).where(Payment.public_token == public_token)).first() if public_token else None
    )
    if payment is None:
        raise NotFound("No such payment.")
    out: dict[str, Any] = {
        "token": payment.public_token,
        "state": str(payment.state.value if hasattr(payment.state, "value") else payment.state),
        "note": payment.note,
        "currency": payment.currency,
        "authorized": _money(payment.authorized_amount, payment.currency),
        "captured": _money(payment.captured_amount, payment.currency),
        "shortfall": _money(payment.shortfall, payment.currency),
        "energy_kwh": None,
        "cost": None,
    }
    session = db.get(ChargingSession, payment.session_id) if payment.session_id else None
    charger = db.get(Charger, payment.charger_id)
    if session is not None and charger is not None:
        out["energy_kwh"] = f"{session.energy_wh / 1000:.2f}"
        out["cost"] = pricing.cost_of(db, charger, session)
    return out


# ------------------------------------------------------------------------------ settlement sweep


def _release(db: Session, gateway: StripeGateway, payment: Payment, note: str) -> None:
    """Cancel the authorisation (the money is released on the card) and retire the pay tag."""
    if payment.provider_ref and payment.state == PaymentState.AUTHORIZED:
        gateway.cancel(payment.id, payment.provider_ref)  # type: ignore[arg-type]
    if ledger.move(payment, PaymentState.CANCELLED, note):
        ledger.enter(db, payment, EntryKind.CANCELLED, payment.authorized_amount)
    _retire_tag(db, payment)
    db.add(payment)


def _retire_tag(db: Session, payment: Payment) -> None:
    token = db.exec(
        select(IdToken).where(IdToken.tenant_id == payment.tenant_id, IdToken.token == payment.id_tag)
    ).first()
    if token is not None and token.status != IdTokenStatus.BLOCKED:
        token.status = IdTokenStatus.BLOCKED  # used once: a copied tag starts nothing else
        db.add(token)


def settle_due(db: Session, gateway: StripeGateway, now: datetime | None = None) -> int:
    """Link started sessions to their payments, settle finished ones, give up on never-started ones.
    Safe to run any number of times, from any number of processes (keys and the ledger's rules)."""
    now = now or utcnow()
    done = 0
    open_payments = db.exec(
        select(Payment).where(Payment.state == PaymentState.AUTHORIZED).order_by(col(Payment.id))
    ).all()
    for payment in open_payments:
        try:
            done += _step(db, gateway, payment, now)
        except GatewayUnavailable as exc:  # nothing known to have happened: the next sweep retries, same key
            LOGGER.warning("payment %s not settled yet: %s", payment.id, exc)
        db.commit()
    for payment in db.exec(
        select(Payment).where(
            Payment.state == PaymentState.PENDING, Payment.created_at < now - PENDING_GIVE_UP
        )
    ).all():
        # No answer from Stripe, so no tag was issued and nothing started. A hold Stripe may have placed
        # regardless (same key, never seen by us) lapses on the card by itself within 7 days.
        if ledger.move(payment, PaymentState.FAILED, "Stripe did not answer; nothing started or charged"):
            db.add(payment)
            done += 1
    db.commit()
    for payment in db.exec(
        select(Payment).where(col(Payment.receipt_sent_at).is_(None), Payment.state == PaymentState.CAPTURED)
    ).all():
        _send_receipt(db, payment)
    db.commit()
    return done


def _step(db: Session, gateway: StripeGateway, payment: Payment, now: datetime) -> int:
    session = _session_of(db, payment)
    if session is None:
        if payment.created_at + START_WINDOW < now:
            _release(db, gateway, payment, "the charger never started: authorisation cancelled")
            return 1
        return 0
    if session.end_utc is None:
        return 0
    _settle(db, gateway, payment, session)
    return 1


def _session_of(db: Session, payment: Payment) -> ChargingSession | None:
    if payment.session_id is not None:
        return db.get(ChargingSession, payment.session_id)
    session = db.exec(
        select(ChargingSession).where(
            ChargingSession.charger_id == payment.charger_id, ChargingSession.id_tag == payment.id_tag
        )
    ).first()
    if session is not None:
        payment.session_id = session.id
        payment.note = "charging"
        _retire_tag(db, payment)
        db.add(payment)
    return session


def _settle(db: Session, gateway: StripeGateway, payment: Payment, session: ChargingSession) -> None:
    price = None if session.cost is None else Decimal(session.cost)
    outcome = settle(price, session.energy_wh, Decimal(payment.authorized_amount))
    if outcome.cancel:
        _release(db, gateway, payment, outcome.reason)
        payment.captured_amount = Decimal(0)
        return
    assert payment.provider_ref is not None and payment.id is not None
    gateway.capture(payment.id, payment.provider_ref, outcome.capture, payment.currency)
    payment.captured_amount = outcome.capture
    payment.shortfall = outcome.shortfall
    if ledger.move(payment, PaymentState.CAPTURED, outcome.reason):
        ledger.enter(db, payment, EntryKind.CAPTURED, outcome.capture)
        if outcome.shortfall:
            ledger.enter(db, payment, EntryKind.SHORTFALL, outcome.shortfall)
    db.add(payment)


def receipt_text(db: Session, payment: Payment) -> str:
    view = status(db, payment.public_token)
    cost = view["cost"] or {"lines": [], "total": None}
    lines = [f"  {line['label']}: {line['amount']} {payment.currency}" for line in cost["lines"]]
    body = [
        "Thank you for charging with Pipelet.",
        "",
        f"Energy: {view['energy_kwh']} kWh",
        *lines,
        f"Total: {cost['total']} {payment.currency}",
        f"Charged to your card: {view['captured']} {payment.currency}",
    ]
    if payment.shortfall:
        body.append(f"(The price exceeded the {view['authorized']} {payment.currency} held on your card.)")
    return "\n".join(body) + "\n"


def _send_receipt(db: Session, payment: Payment) -> None:
    if not payment.email:
        return
    try:
        send_mail([payment.email], "Your charging receipt", receipt_text(db, payment))
    except (MailNotConfigured, OSError) as exc:  # the page still shows the receipt; retried next sweep
        LOGGER.warning("receipt for payment %s not sent: %s", payment.id, exc)
        return
    payment.receipt_sent_at = utcnow()
    db.add(payment)


def sweep_once() -> int:
    """One settlement pass in its own transaction (the lifespan loop and `pipelet` call this)."""
    try:
        gateway = StripeGateway()
    except GatewayUnavailable:
        return 0
    with session_scope() as db:
        return settle_due(db, gateway)
