"""Inverter Hub: a driver's coupled inverter-cloud accounts, their wallboxes, and the counter snapshots.

Why three tables:

* ``c4_pv_accounts`` — one row per (driver, brand): the encrypted credentials (never plain text), what the
  adapter asked to keep (``state``: cursors, running counters, tokens are *not* in it), the quota ledger,
  the driver-facing status, and the scheduler's columns (``next_poll_utc`` plus a lease so two workers never
  poll one account at once — Huawei even logs the first session out).
* ``c4_pv_wallboxes`` — the chargers discovered at connect time, with where the reconstructor resumes
  (``resume_from_utc``) and how far the native import got (``native_since_utc``). Kept per wallbox because
  one account may hold several systems and chargers.
* ``c4_pv_snapshots`` — the canonical counter snapshots, unique on (account, serial, time) so a re-poll or a
  retried job UPSERTs instead of duplicating.

Sessions themselves land in ``op_charging_sessions`` (``source = pv-inverter``), beside every other source.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from pipelet_app.clock import utcnow
from pipelet_app.db.types import UTCDateTime


class PvStatus(StrEnum):
    """What the driver sees per connection. Mirrors ``inverters.service.ConnectionStatus`` plus PENDING."""

    PENDING = "pending"  # coupled, first poll not yet run
    CONNECTED = "connected"
    SYNCING = "syncing"
    THROTTLED = "throttled"
    ERROR = "error"
    INTEGRATION_ERROR = "integration-error"
    REAUTH_NEEDED = "reauth-needed"


class PvAccount(SQLModel, table=True):
    __tablename__ = "c4_pv_accounts"
    __table_args__ = (UniqueConstraint("driver_id", "brand"),)

    id: int | None = Field(default=None, primary_key=True)
    driver_id: int = Field(foreign_key="drivers.id", index=True)
    brand: str = Field(max_length=32)
    #: Fernet token of the credential dict (``inverters.credentials``); None once the driver disconnected
    credentials_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ledger: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    failures: int = 0
    status: str = Field(default=PvStatus.PENDING.value, max_length=32)
    #: driver-facing, secret-free (the adapters' error texts are written for this)
    message: str | None = None
    progress_done: int | None = None
    progress_total: int | None = None
    #: the first system's zone: night-time polling is sparser in the site's night, not UTC's
    tz_name: str | None = None
    last_poll_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_sync_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_poll_utc: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    #: a worker holding this lease is polling the account; expired leases are taken over (crash recovery)
    lease_until_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: a paid tier's own poll interval (seconds); None = the brand's (PV_POLL_INTERVAL(S))
    poll_interval_s: float | None = None
    #: a paid tier's own limits: [{"limit": 100, "period_s": 60, "kind": "request"}, ...]; None = the brand's
    quota_windows: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PvWallbox(SQLModel, table=True):
    __tablename__ = "c4_pv_wallboxes"
    __table_args__ = (UniqueConstraint("account_id", "system_id", "serial"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="c4_pv_accounts.id", index=True)
    system_id: str
    system_name: str = ""
    system_timezone: str | None = None
    system_extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    serial: str = Field(index=True)
    device_id: str
    name: str = ""
    model: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: reconstruct from this snapshot on (``Reconstruction.resume_from_utc``); None = from the first one
    resume_from_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: newest imported native session start (Enphase); None = import the whole history
    native_since_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PvSnapshot(SQLModel, table=True):
    __tablename__ = "c4_pv_snapshots"
    __table_args__ = (UniqueConstraint("account_id", "serial", "time_utc"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="c4_pv_accounts.id", index=True)
    serial: str
    time_utc: datetime = Field(sa_type=UTCDateTime)
    lifetime_wh: float
    power_w: float | None = None
    status: str | None = None


class VendorLoginLedger(SQLModel, table=True):
    """A vendor account's login count, shared by every process (``inverters.login_ledger``).

    Huawei locks an account that logs in more than 5 times in 10 minutes, counted per account, not per
    Pipelet row: one Huawei user may back several drivers' accounts and site links, the connect form's test
    call logs in too, and a restarted or second worker must see the logins the others made. So the count
    lives here, keyed by a hash of the vendor's address and user name (never a credential: no password,
    code or token), as the same pruned ``{kind: [unix seconds]}`` ledger the rows' ``ledger`` columns keep.
    ``version`` makes a spend a compare-and-set: two workers never both take the fifth login.
    """

    __tablename__ = "c4_vendor_login_ledgers"

    account_key: str = Field(primary_key=True, max_length=64)
    brand: str = Field(max_length=32)
    ledger: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
