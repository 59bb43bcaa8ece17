"""The audit trail: who did what to which object, when, and what changed (one table for every area)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from pipelet_app.clock import utcnow
from pipelet_app.db.types import UTCDateTime


class AuditEvent(SQLModel, table=True):
    """One recorded action. `object_type`/`object_id` name the object (e.g. "site"/"12",
    "charger"/"CP-1", "id_token"/"ACME0001"); `changes` maps a field to `[before, after]` (either side
    None when the field appeared or went). The actor is kept as a label too, so a deleted user's
    actions still read who did them."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    tenant_id: int | None = Field(default=None, index=True)
    actor_user_id: int | None = None
    actor: str = Field(default="system", max_length=320)
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=32)
    object_id: str = Field(max_length=128)
    changes: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))


__all__ = ["AuditEvent"]
