"""Pricing plans of an operator (the rules themselves: docs/pricing.md, domain/pricing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from pipelet_app.clock import utcnow
from pipelet_app.db.types import UTCDateTime


class PricingPlan(SQLModel, table=True):
    """A named plan; `definition` is the plan as the API takes it (amounts as decimal strings).

    One JSON document rather than window rows: a plan is read and replaced whole, never queried by its
    windows, and the service validates it through domain.pricing before storing it.
    """

    __tablename__ = "pricing_plans"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", index=True)
    name: str
    definition: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
