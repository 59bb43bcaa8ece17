"""A fleet's reimbursement rates and the monthly statements drawn from them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, Column, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from pipelet_app.clock import utcnow
from pipelet_app.db.types import UTCDateTime, str_enum


class StatementStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    EXPORTED = "exported"


class ReimbursementRate(SQLModel, table=True):
    """€/kWh a fleet pays back per source; no row (or a NULL rate) means that source is not reimbursed."""

    __tablename__ = "fleet_reimbursement_rates"
    __table_args__ = (UniqueConstraint("fleet_id", "source"),)

    id: int | None = Field(default=None, primary_key=True)
    fleet_id: int = Field(foreign_key="tenants.id", index=True)
    source: str = Field(max_length=32)
    rate_per_kwh: Decimal | None = Field(default=None, sa_column=Column(Numeric(10, 4), nullable=True))
    currency: str = "EUR"
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReimbursementStatement(SQLModel, table=True):
    """One driver's month. Drafts are recomputed freely; approval freezes the figures; export is final."""

    __tablename__ = "fleet_reimbursement_statements"
    __table_args__ = (UniqueConstraint("driver_id", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    fleet_id: int = Field(foreign_key="tenants.id", index=True)
    driver_id: int = Field(foreign_key="drivers.id", index=True)
    month: str = Field(max_length=7, description="YYYY-MM, UTC")
    status: StatementStatus = Field(default=StatementStatus.DRAFT, sa_type=str_enum(StatementStatus))
    lines: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    energy_kwh: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(14, 3), nullable=False))
    total: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(12, 2), nullable=False))
    currency: str = "EUR"
    session_count: int = 0
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    approved_by: int | None = Field(default=None, foreign_key="users.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    exported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class VoidedSession(SQLModel, table=True):
    """A session a fleet manager took out as wrong (an imported typo): who, when, why, and the row as it was.

    The session row itself is deleted, so no list, export or reimbursement can count it; this record keeps
    the audit trail, and its transaction id keeps a re-import of the same row from bringing it back.
    """

    __tablename__ = "fleet_voided_sessions"

    id: int | None = Field(default=None, primary_key=True)
    transaction_id: str = Field(unique=True, index=True)
    fleet_id: int = Field(foreign_key="tenants.id", index=True)
    driver_id: int | None = Field(default=None, foreign_key="drivers.id")
    voided_by: int = Field(foreign_key="users.id")
    voided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    reason: str = Field(max_length=500)
    session: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
