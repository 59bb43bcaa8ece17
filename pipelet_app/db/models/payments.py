"""The payment ledger: one `payments` row per paid session (Stripe pre-authorisation or a Payter
terminal), its append-only `payment_entries` (authorised, captured, cancelled, shortfall, refunded), and
the provider events already handled (`payment_events`, so a replayed webhook changes nothing).

Amounts are NUMERIC in the payment's currency (the site's), never floats (docs/payments.md).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from pipelet_app.clock import utcnow
from pipelet_app.db.types import UTCDateTime, str_enum


class PaymentState(StrEnum):
    """A payment only moves forward: pending -> authorized -> captured | cancelled (or failed)."""

    PENDING = "pending"  # the row exists, the provider has not answered yet (retried with the same key)
    AUTHORIZED = "authorized"  # the card holds `authorized_amount`; the session may start
    CAPTURED = "captured"
    CANCELLED = "cancelled"
    FAILED = "failed"  # declined or errored: no session is started


class EntryKind(StrEnum):
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    CANCELLED = "cancelled"
    SHORTFALL = "shortfall"  # the price above the authorised amount: owed, not collected
    REFUNDED = "refunded"


def _money(nullable: bool = True) -> Column:
    return Column(Numeric(12, 3), nullable=nullable)


class Payment(SQLModel, table=True):
    __tablename__ = "payments"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", index=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    connector_id: int
    session_id: int | None = Field(default=None, foreign_key="op_charging_sessions.id", index=True)
    # The one-time id tag the session is started with (an id_tokens row of the charger's tenant).
    id_tag: str = Field(index=True)
    provider: str = "stripe"  # stripe | payter
    provider_ref: str | None = Field(default=None, index=True)  # PaymentIntent id, terminal reference
    # The client's key (one per pay-button press): a double click finds this row instead of a second one.
    request_key: str = Field(unique=True)
    # The secret in the pay page's status link: the page shows this payment and nothing else.
    public_token: str = Field(unique=True, index=True)
    state: PaymentState = Field(default=PaymentState.PENDING, sa_type=str_enum(PaymentState), index=True)
    currency: str = "EUR"
    authorized_amount: Decimal = Field(sa_column=_money(nullable=False))
    captured_amount: Decimal | None = Field(default=None, sa_column=_money())
    shortfall: Decimal | None = Field(default=None, sa_column=_money())
    email: str | None = None
    note: str = ""  # why it ended as it did (declined, never started, under 2 kWh ...), for the operator
    receipt_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PaymentEntry(SQLModel, table=True):
    """Append-only: what happened to a payment's money, in order."""

    __tablename__ = "payment_entries"
    __table_args__ = (UniqueConstraint("payment_id", "kind"),)  # each kind happens once per payment

    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payments.id", index=True)
    kind: EntryKind = Field(sa_type=str_enum(EntryKind))
    amount: Decimal = Field(sa_column=_money(nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PaymentEvent(SQLModel, table=True):
    """A provider event (Stripe `evt_...`) handled once; its id is the idempotency key of the webhook."""

    __tablename__ = "payment_events"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True)
    type: str
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
