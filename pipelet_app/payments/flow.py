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

from sqlalchemy import update
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
from pipelet_app.payments import ledger, terminal
from pipelet_app.payments.gateway import GatewayUnavailable, RequestRefused, StripeGateway
from pipelet_app.services import pricing

LOGGER = logging.getLogger(__name__)
START_WINDOW = timedelta(minutes=10)  # the pay tag's life; a charger that has not started by then is given up
STARTABLE = {"Available", "Preparing"}
DECLINES_ALLOWED, DECLINE_WINDOW = 5, timedelta(minutes=15)
PENDING_GIVE_UP = timedelta(minutes=10)  # Stripe never answered the authorisation
# Intent states Stripe lets us cancel (https://docs.stripe.com/api/payment_intents/cancel).
CANCELLABLE = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action", "requires_capture", "processing"}
)
_TAG_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class PayRequest:
    charge_point_id: str
    connector_id: int
    email: str
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


def begin(db: Session, gateway: StripeGateway, request: PayRequest) -> tuple[Payment, str]:
    """The payment for this button press and the client_secret its page confirms the card with.

    The row (and its idempotency key) exists before Stripe is asked, so a retry or a double click (even
    two at once) finds the same payment and the same PaymentIntent. Nothing is held and nothing starts
    here: the card goes from the browser to Stripe (Stripe.js), and `check` asks Stripe afterwards."""
    _check(request)
    existing = db.exec(select(Payment).where(Payment.request_key == request.request_key)).first()
    if existing is not None:
        return existing, _secret_of(gateway, existing)
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
        db.commit()
    except IntegrityError:  # the same press, a moment earlier, on another worker
        db.rollback()
        again = db.exec(select(Payment).where(Payment.request_key == request.request_key)).one()
        return again, _secret_of(gateway, again)
    metadata = {"payment_id": str(payment.id), "charge_point_id": charger.charge_point_id}
    intent = gateway.open_intent(payment.id, payment.authorized_amount, payment.currency, metadata)  # type: ignore[arg-type]
    payment.provider_ref = intent.id
    payment.note = "waiting for the card"
    db.add(payment)
    db.commit()
    return payment, intent.client_secret


def _secret_of(gateway: StripeGateway, payment: Payment) -> str:
    """The client_secret of a payment still waiting for its card (asked of Stripe, never stored)."""
    if payment.state != PaymentState.PENDING or not payment.provider_ref:
        return ""
    return gateway.intent(payment.provider_ref).client_secret


def check(db: Session, gateway: StripeGateway, payment: Payment) -> bool:
    """Ask Stripe (not the browser) what became of the card; True when this call authorised the payment,
    i.e. the caller is the one to start the charger."""
    if payment.state != PaymentState.PENDING or not payment.provider_ref:
        return False
    intent = gateway.intent(payment.provider_ref)
    if intent.status == "requires_capture":
        return authorize_once(db, payment)
    if intent.status == "requires_payment_method" and intent.error:
        decline(db, gateway, payment, intent.error)
    elif intent.status == "canceled" and ledger.move(
        payment, PaymentState.FAILED, "the card was not confirmed in time; nothing charged"
    ):
        db.add(payment)
        db.commit()
    return False  # still waiting (card not entered yet, 3-D Secure, processing)


def decline(db: Session, gateway: StripeGateway, payment: Payment, reason: str) -> None:
    """A refused card ends the payment; its intent is cancelled so its client_secret can hold nothing
    later (a new press is a new payment, counted by the throttle)."""
    if not ledger.move(payment, PaymentState.FAILED, f"declined: {reason}"):
        return
    db.add(payment)
    db.commit()
    try:
        gateway.cancel(payment.id, payment.provider_ref)  # type: ignore[arg-type]
    except (GatewayUnavailable, RequestRefused) as exc:  # a declined intent holds nothing; logged only
        LOGGER.info("payment %s: declined intent not cancelled: %s", payment.id, exc)


def release_late_hold(payment: Payment) -> None:
    """Cancel the hold of a payment that already ended (declined, given up) but whose intent Stripe
    reports holding money anyway (a client_secret confirmed late): nothing started, nothing is taken."""
    try:
        StripeGateway().cancel(payment.id, payment.provider_ref)  # type: ignore[arg-type]
    except (GatewayUnavailable, RequestRefused) as exc:  # reconciliation finds it again (reconcile.py)
        LOGGER.warning("payment %s: late hold not released yet: %s", payment.id, exc)


def authorize_once(db: Session, payment: Payment) -> bool:
    """pending -> authorized exactly once, whoever sees the hold first (the page's check or the signed
    webhook, in any process): a conditional UPDATE decides. The winner issues the one-time tag."""
    now = utcnow()
    moved = db.execute(
        update(Payment)
        .where(col(Payment.id) == payment.id, col(Payment.state) == PaymentState.PENDING)
        .values(state=PaymentState.AUTHORIZED, note="authorised; starting the charger", updated_at=now)
    )
    if moved.rowcount != 1:
        db.rollback()
        db.refresh(payment)
        return False
    db.refresh(payment)
    ledger.enter(db, payment, EntryKind.AUTHORIZED, payment.authorized_amount)
    db.add(
        IdToken(
            tenant_id=payment.tenant_id,
            token=payment.id_tag,
            status=IdTokenStatus.ACCEPTED,
            expires_at=now + START_WINDOW,
        )
    )
    db.commit()
    return True


async def pay(request: PayRequest, gateway: StripeGateway | None = None) -> dict[str, Any]:
    """The pay button: the payment and its client_secret for the page's Stripe.js (`secret`), or the
    payment's view if it is past waiting for a card."""
    gateway = gateway or StripeGateway()

    def _begin() -> dict[str, Any]:
        with session_scope() as db:
            payment, secret = begin(db, gateway, request)
            return {**status(db, payment.public_token), "secret": secret}

    return await asyncio.to_thread(_begin)


async def confirmed(token: str, gateway: StripeGateway | None = None) -> dict[str, Any]:
    """The page's Stripe.js has finished with the card: check with Stripe, and start the connector if
    this call is the one that saw the hold (a second click or the webhook finds it done)."""
    gateway = gateway or StripeGateway()

    def _check() -> tuple[int, bool]:
        with session_scope() as db:
            payment = db.exec(select(Payment).where(Payment.public_token == token)).first() if token else None
            if payment is None:
                raise NotFound("No such payment.")
            return payment.id, check(db, gateway, payment)  # type: ignore[return-value]

    payment_id, fresh = await asyncio.to_thread(_check)
    if fresh:
        await start(payment_id, gateway)
    return await asyncio.to_thread(_status_by_token, token)


async def start(payment_id: int, gateway: StripeGateway | None = None) -> None:
    """Remote-start the paid connector with the payment's one-time tag; a refused start cancels the hold.
    Called once per payment, by whoever won `authorize_once`."""
    from pipelet_app.ocpp.commands import CommandError, send_command

    gateway = gateway or StripeGateway()

    def _target() -> tuple[str, int, str]:
        with session_scope() as db:
            payment = db.get(Payment, payment_id)
            assert payment is not None
            charger = db.get(Charger, payment.charger_id)
            assert charger is not None
            return charger.charge_point_id, payment.connector_id, payment.id_tag

    cp_id, connector_id, tag = await asyncio.to_thread(_target)
    try:
        answer = await send_command(cp_id, "remote-start", {"idTag": tag, "connectorId": connector_id})
        accepted = answer.get("status") == "Accepted"
    except CommandError as exc:
        LOGGER.warning("pay %s: remote start failed: %s", payment_id, exc)
        accepted = False
    await asyncio.to_thread(_after_start, gateway, payment_id, accepted)


def _after_start(gateway: StripeGateway, payment_id: int, accepted: bool) -> None:
    with session_scope() as db:
        payment = db.get(Payment, payment_id)
        assert payment is not None
        if accepted:
            if payment.note.startswith("authorised"):
                payment.note = "charger accepted the start; plug in"
                db.add(payment)
        else:
            release(db, gateway, payment, "the charger refused to start: authorisation cancelled")


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


def release(db: Session, gateway: StripeGateway, payment: Payment, note: str) -> None:
    """Cancel the authorisation (the money is released on the card) and retire the pay tag."""
    if payment.provider == "stripe" and payment.provider_ref and payment.state == PaymentState.AUTHORIZED:
        gateway.cancel(payment.id, payment.provider_ref)  # type: ignore[arg-type]
    if ledger.move(payment, PaymentState.CANCELLED, note):
        ledger.enter(db, payment, EntryKind.CANCELLED, payment.authorized_amount)
    retire_tag(db, payment)
    db.add(payment)


retire_tag = ledger.retire_tag


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
        try:
            done += _give_up(db, gateway, payment)
        except GatewayUnavailable as exc:
            LOGGER.warning("payment %s not given up yet: %s", payment.id, exc)
        db.commit()
    for payment in db.exec(
        select(Payment).where(col(Payment.receipt_sent_at).is_(None), Payment.state == PaymentState.CAPTURED)
    ).all():
        _send_receipt(db, payment)
    db.commit()
    return done


def _give_up(db: Session, gateway: StripeGateway, payment: Payment) -> int:
    """A payment still waiting for its card after PENDING_GIVE_UP: nothing was started, so whatever the
    card did is undone (an intent confirmed late, whose check and webhook never came, holds money: it
    is cancelled); the page's client_secret can then hold nothing more."""
    if payment.provider_ref:
        intent = gateway.intent(payment.provider_ref)
        if intent.status in CANCELLABLE:
            gateway.cancel(payment.id, payment.provider_ref)  # type: ignore[arg-type]
        note = "the card was not confirmed within 10 minutes; nothing started or charged"
    else:
        note = "Stripe did not answer; nothing started or charged"
    if ledger.move(payment, PaymentState.FAILED, note):
        db.add(payment)
        return 1
    return 0


def _step(db: Session, gateway: StripeGateway, payment: Payment, now: datetime) -> int:
    session = session_of(db, payment)
    if payment.provider == terminal.PROVIDER:  # the terminal holds the money: nothing to call
        return terminal.step(db, payment, session, now)
    if session is None:
        if payment.created_at + START_WINDOW < now:
            release(db, gateway, payment, "the charger never started: authorisation cancelled")
            return 1
        return 0
    if session.end_utc is None:
        return 0
    _settle(db, gateway, payment, session)
    return 1


def session_of(db: Session, payment: Payment) -> ChargingSession | None:
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
        retire_tag(db, payment)
        db.add(payment)
    return session


def _settle(db: Session, gateway: StripeGateway, payment: Payment, session: ChargingSession) -> None:
    price = None if session.cost is None else Decimal(session.cost)
    outcome = settle(price, session.energy_wh, Decimal(payment.authorized_amount))
    if outcome.cancel:
        release(db, gateway, payment, outcome.reason)
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
