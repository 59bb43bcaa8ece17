"""Who owns what: tenants (operators and fleets), their sites and their drivers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Date, Numeric
from sqlmodel import Field, SQLModel

from pipelet_app.clock import utcnow
from pipelet_app.db.types import UTCDateTime, str_enum


class TenantKind(StrEnum):
    OPERATOR = "operator"
    FLEET = "fleet"


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    slug: str = Field(unique=True, index=True)
    kind: TenantKind = Field(sa_type=str_enum(TenantKind))
    #: a fleet customer's operator: whose operators manage its drivers and issue their id tokens
    operator_tenant_id: int | None = Field(default=None, foreign_key="tenants.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SiteLifecycle(StrEnum):
    """Where a site is in its life; only `operating` sites count in availability and attention lists."""

    PLANNED = "planned"
    CONSTRUCTION = "construction"
    COMMISSIONING = "commissioning"
    OPERATING = "operating"
    DECOMMISSIONED = "decommissioned"


class Site(SQLModel, table=True):
    """A place with chargers, and maybe PV, a grid meter and a battery (its devices: `site_devices`).

    `has_pv_meter` is kept equal to "one of its devices is a PV meter" by the sites service; the fleet
    pages read it without a join. New site-level settings are new nullable columns here.
    """

    __tablename__ = "sites"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", index=True)
    name: str
    timezone: str = "UTC"
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    has_pv_meter: bool = False
    #: the grid connection's limit per phase, A; None = not known (the surplus controller then needs one)
    grid_limit_a: float | None = None
    phases: int = Field(default=3, sa_column_kwargs={"server_default": "3"})
    #: ISO 4217: what the amounts of the plans priced here mean (docs/pricing.md)
    currency: str = Field(default="EUR", max_length=3, sa_column_kwargs={"server_default": "EUR"})
    # What the pay page pre-authorises on a driver's card before a session starts (site's currency);
    # the final price is captured up to this amount (docs/payments.md).
    preauth_amount: Decimal = Field(
        default=Decimal(50), sa_column=Column(Numeric(12, 3), nullable=False, server_default="50")
    )
    #: what a kWh delivered here costs the operator (site's currency; None = not known): revenue reports
    #: show the energy cost and margin from it (docs/payments.md)
    energy_price_per_kwh: Decimal | None = Field(
        default=None, sa_column=Column(Numeric(12, 5), nullable=True)
    )
    commissioning_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    lifecycle_state: SiteLifecycle = Field(
        default=SiteLifecycle.OPERATING,
        sa_type=str_enum(SiteLifecycle),
        sa_column_kwargs={"server_default": "operating"},
    )
    #: the special-purpose vehicle (tax equity) that owns the site's assets, one of the tenant's SPVs
    spv_id: int | None = Field(default=None, foreign_key="spvs.id", index=True)
    #: raised by a database trigger on every change of the row (migration 0035; never set it)
    live_version: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})


class Driver(SQLModel, table=True):
    """A person who charges; belongs to one fleet and may have a login (user_id)."""

    __tablename__ = "drivers"

    id: int | None = Field(default=None, primary_key=True)
    fleet_id: int = Field(foreign_key="tenants.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", unique=True)
    name: str
    email: str = ""
