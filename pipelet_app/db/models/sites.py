"""A site's devices and its energy data: raw samples per asset, the 1-minute series, EV transactions.

Shape for 10,000 sites on PostgreSQL (benchmarks/site_energy):
- `site_samples` holds every accepted sample once, keyed (site_id, minute, device_id, ts): a repeated
  message is the same row (idempotent UPSERT), and the minutes a batch touched are re-aggregated by one
  index range read per minute. It is the working set for late data (24 h) and may be pruned after that.
- `site_energy_minutes` is the narrow series the API, the solar-share rule and the surplus loop read:
  one row per site and minute, one column per kind, keyed (site_id, minute) so a site's day is one
  index range. It is rewritten from `site_samples` whenever a minute changes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from pipelet_app.db.types import UTCDateTime, str_enum, utcnow


class DeviceKind(StrEnum):
    PV = "pv"
    GRID = "grid"
    BATTERY = "battery"
    CHARGER = "charger"
    LOAD = "load"


class SiteDevice(SQLModel, table=True):
    """One metered asset of a site; `asset_id` is what its MQTT messages carry (unique within the site).

    A charger device names the OCPP charger (and connector, None = the whole charger) whose meter values
    count for it; without `charge_point_id` it is an MQTT-only charger.
    """

    __tablename__ = "site_devices"
    __table_args__ = (UniqueConstraint("site_id", "asset_id", name="uq_site_device_asset"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="sites.id", index=True)
    asset_id: str
    kind: DeviceKind = Field(sa_type=str_enum(DeviceKind))
    charge_point_id: str | None = Field(default=None, index=True)
    connector_id: int | None = None
    #: charger pin → grid phase ("1" → "L2"): which site phase each of its phases loads
    pin_to_phase_mapping: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: charger and car can switch between 1 and 3 phases (as `switch_phases` in simulate-surplus's EV.json):
    #: the surplus loop may then send profiles with `numberPhases` 1 or 3
    switch_phases: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class SiteSample(SQLModel, table=True):
    """One accepted measurement of one asset (MQTT, OCPP meter values or an inverter cloud)."""

    __tablename__ = "site_samples"

    site_id: int = Field(primary_key=True)
    minute: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    device_id: int = Field(primary_key=True)
    ts: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    kind: str = Field(max_length=16)
    power_w: float
    energy_wh: float | None = None
    soc: float | None = None
    source: str = Field(default="mqtt", max_length=8)


class SiteEnergyMinute(SQLModel, table=True):
    """A site's mean powers in one UTC minute (W; energy of the minute = W / 60 Wh); None = no data.

    `grid_w` > 0 imports, `battery_w` > 0 discharges; `load_w` is the house without the cars (measured,
    or derived from the balance when a grid meter reports); `ev_solar_w` is the part of the cars' power
    that counts as solar by docs/solar-share.md.
    """

    __tablename__ = "site_energy_minutes"

    site_id: int = Field(primary_key=True)
    minute: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    pv_w: float | None = None
    grid_w: float | None = None
    battery_w: float | None = None
    battery_soc: float | None = None
    load_w: float | None = None
    ev_w: float | None = None
    ev_solar_w: float | None = None
    samples: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SiteEvTransaction(SQLModel, table=True):
    """A charging transaction an MQTT charger reported (Pleevi transaction), with defaults filled in.

    Rows are keyed by (site, transactionId); an older message never overwrites a newer one, and a message
    changes only the fields it carries (site_energy.store.merge_transaction).
    """

    __tablename__ = "site_ev_transactions"
    __table_args__ = (UniqueConstraint("site_id", "transaction_id", name="uq_site_ev_transaction"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="sites.id", index=True)
    device_id: int
    transaction_id: str
    state: str = Field(max_length=16)
    message_ts: datetime = Field(sa_type=UTCDateTime)
    start_utc: datetime = Field(sa_type=UTCDateTime)
    stop_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    current_type: str | None = None
    phases: int | None = None
    used_pins: str | None = None
    max_power_w: float | None = None
    requested_min_wh: float | None = None
    requested_max_wh: float | None = None
    departure_utc: datetime = Field(sa_type=UTCDateTime)
    priority: int = 5
    profile_id: str | None = None
    #: True where the message left the value out and a default profile filled it
    departure_defaulted: bool = False
    energy_defaulted: bool = False
    energy_wh: float | None = None
    power_w: float | None = None


class SiteEnergyDirty(SQLModel, table=True):
    """Minutes of a site that changed since the sessions' solar share was last computed over them."""

    __tablename__ = "site_energy_dirty"

    site_id: int = Field(primary_key=True)
    from_minute: datetime = Field(sa_type=UTCDateTime)
    to_minute: datetime = Field(sa_type=UTCDateTime)


class SiteFeedCursor(SQLModel, table=True):
    """How far a feed (OCPP meter values → site samples) has read its source table."""

    __tablename__ = "site_feed_cursors"

    name: str = Field(primary_key=True, max_length=32)
    position: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SiteInverter(SQLModel, table=True):
    """An inverter-cloud account an operator linked to a site: its PV production feeds the site's series.

    Operator-owned (not a driver's `c4_pv_accounts` row): the credentials are the operator's, encrypted
    like the drivers' (`inverters.credentials`), and never returned or logged. `device_id` is the site's
    `pv` device the production is stored under; `system_id` names the cloud's system. The poll job leases
    the row (`lease_until_utc`) like the drivers' accounts, keeps its own quota ledger, and stores up to
    `stored_until_utc` (the end of the newest complete interval written).
    """

    __tablename__ = "site_inverters"
    __table_args__ = (UniqueConstraint("site_id", "brand", "system_id", name="uq_site_inverter_system"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="sites.id", index=True)
    device_id: int
    brand: str = Field(max_length=32)
    system_id: str = Field(max_length=100)
    system_timezone: str | None = Field(default=None, max_length=64)
    credentials_enc: str = Field(sa_column=Column(Text, nullable=False))
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ledger: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    failures: int = 0
    status: str = Field(default="pending", max_length=32)
    #: operator-facing and secret-free (the adapters' error texts are written for this)
    message: str | None = None
    last_poll_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stored_until_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_poll_utc: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    lease_until_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SiteMqttCredential(SQLModel, table=True):
    """The broker password of a site's gateway (user `site-{id}`), as Mosquitto's PBKDF2-SHA512 `$7$`
    hash only: the password itself is shown once to whoever issued it and kept nowhere. The same hash
    feeds a dynamic-security config (`pipelet run`'s broker) and a `password_file` (`pipelet mqtt-acl`),
    so the database is the one place a site's broker credential lives (`domain.mqtt_access`)."""

    __tablename__ = "site_mqtt_credentials"

    site_id: int = Field(primary_key=True, foreign_key="sites.id")
    password_hash: str = Field(max_length=200)
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: the user who issued it (None: `pipelet mqtt-acl` or the demo seed)
    issued_by: int | None = Field(default=None, foreign_key="users.id")


__all__ = [
    "DeviceKind",
    "SiteDevice",
    "SiteEnergyDirty",
    "SiteEnergyMinute",
    "SiteEvTransaction",
    "SiteFeedCursor",
    "SiteInverter",
    "SiteMqttCredential",
    "SiteSample",
]
