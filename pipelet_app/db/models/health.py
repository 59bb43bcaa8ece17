"""Monthly health per charger and per site, stored by the roll-up job (operations/health.py) so a page
or an API call reads a row instead of recomputing a month of histories."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from pipelet_app.clock import utcnow
from pipelet_app.db.types import UTCDateTime


class HealthMonth(SQLModel, table=True):
    """One UTC month of one charger (`scope` "charger", `object_id` = chargers.id) or site ("site",
    sites.id): seconds online / degraded / offline, faults and their seconds, availability (0-1,
    fault periods excluded; None when the month had nothing but faults). docs/health.md."""

    __tablename__ = "health_months"

    scope: str = Field(primary_key=True, max_length=8)
    object_id: int = Field(primary_key=True)
    month: str = Field(primary_key=True, max_length=7)  # YYYY-MM
    tenant_id: int = Field(index=True)
    online_s: float
    degraded_s: float
    offline_s: float
    fault_s: float
    faults: int
    availability: float | None = None
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


__all__ = ["HealthMonth"]
