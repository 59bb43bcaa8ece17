"""Charging-network accounts of an operator's tenant and the chargers each network reports.

* ``network_accounts`` — one row per connected account: the encrypted credentials (never plain text, never
  returned), the adapter's ``state`` (cursors; no secrets), the integration's state for the console (status,
  last successful sync, the cause of the last failure, rows skipped by the last poll) and the scheduler's
  columns (``next_poll_utc`` and a lease, as ``c4_pv_accounts``).
* ``network_chargers`` — chargers found by discovery, with the Pipelet charger they were identified as
  (same tenant, same vendor and serial), so their sessions carry ``charger_id``.
* ``network_location_sites`` — the operator's mapping of a network location (``site_external_id`` of the
  account's chargers) to one of the tenant's sites, so sessions there carry ``network_site_id`` and count
  for that site in its reports (docs/networks.md).

Sessions land in ``op_charging_sessions`` (``source = network``, ``reason = network-<name>``, transaction id
``net-<network>-t<tenant>-<the network's session id>``): see pollers/networks.py.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from pipelet_app.clock import utcnow
from pipelet_app.db.types import UTCDateTime


class NetworkStatus(StrEnum):
    PENDING = "pending"  # connected, first poll not yet run
    CONNECTED = "connected"
    THROTTLED = "throttled"
    ERROR = "error"  # the network is down or answered 5xx: retried with back-off
    INTEGRATION_ERROR = "integration-error"  # the network's answer changed shape: Pipelet must be fixed
    REAUTH_NEEDED = "reauth-needed"


class NetworkAccount(SQLModel, table=True):
    __tablename__ = "network_accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "network", "label"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", index=True)
    network: str = Field(max_length=32)
    label: str = Field(default="", max_length=200)
    #: Fernet token of the credential dict (``inverters.credentials``, the same keys and rotation)
    credentials_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=NetworkStatus.PENDING.value, max_length=32)
    #: the cause of the last failure, operator-facing and secret-free; kept after a later success
    last_error: str | None = None
    last_error_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: rows the last poll left out: [{"kind", "ref", "reason"}]
    skipped: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    failures: int = 0
    sessions_synced: int = 0
    last_poll_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_poll_utc: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    lease_until_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NetworkCharger(SQLModel, table=True):
    __tablename__ = "network_chargers"
    __table_args__ = (UniqueConstraint("account_id", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="network_accounts.id", index=True)
    tenant_id: int = Field(foreign_key="tenants.id", index=True)
    external_id: str = Field(max_length=200)
    name: str = ""
    site_external_id: str = ""
    site_name: str = ""
    vendor: str = ""
    model: str = ""
    serial: str = ""
    connectors: int = 0
    #: the charger of this CSMS it was identified as (same tenant, vendor and serial), if any
    charger_id: int | None = Field(default=None, foreign_key="chargers.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NetworkLocationSite(SQLModel, table=True):
    """One network location of one account, mapped by the operator to a site of the same tenant."""

    __tablename__ = "network_location_sites"

    account_id: int = Field(foreign_key="network_accounts.id", primary_key=True)
    location_id: str = Field(primary_key=True, max_length=200)
    tenant_id: int = Field(foreign_key="tenants.id", index=True)
    site_id: int = Field(foreign_key="sites.id", index=True)
    updated_by: int | None = Field(default=None, foreign_key="users.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
