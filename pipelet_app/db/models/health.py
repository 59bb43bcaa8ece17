"""Monthly health per charger and per site, stored by the roll-up job (operations/health.py) so a page
or an API call reads a row instead of recomputing a month of histories."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, Numeric
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


class ReportSiteDay(SQLModel, table=True):
    """The finished sessions of one site that ended on one local day, in one currency, summed: what the
    portfolio report reads on PostgreSQL instead of a year of sessions (docs/reports.md). Kept exact by
    triggers on `op_charging_sessions` (every insert, update and delete of a finished session), and
    rebuilt per site when a charger moves or a site's zone changes (migration 0031). Empty on SQLite,
    where the report sums the sessions themselves."""

    __tablename__ = "report_site_days"

    site_id: int = Field(primary_key=True)
    day: date = Field(primary_key=True)
    currency: str = Field(primary_key=True)
    sessions: int
    energy_wh: int = Field(sa_type=BigInteger)
    revenue: Decimal = Field(sa_column=Column(Numeric(14, 3), nullable=False))
    priced: int


class ReportSiteMonth(SQLModel, table=True):
    """The same sums per local month (`month` = its first day): a year of 1,000 sites is 12,000 rows
    to read, where the days are 365,000 (benchmarks/operator). Kept by the same triggers."""

    __tablename__ = "report_site_months"

    site_id: int = Field(primary_key=True)
    month: date = Field(primary_key=True)
    currency: str = Field(primary_key=True)
    sessions: int
    energy_wh: int = Field(sa_type=BigInteger)
    revenue: Decimal = Field(sa_column=Column(Numeric(14, 3), nullable=False))
    priced: int


__all__ = ["HealthMonth", "ReportSiteDay", "ReportSiteMonth"]
