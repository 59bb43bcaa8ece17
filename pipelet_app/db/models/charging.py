"""Chargers, their connectors, id tokens, charging sessions and meter values."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Numeric, UniqueConstraint, func, text
from sqlmodel import Field, SQLModel

from pipelet_app.clock import utcnow
from pipelet_app.db.types import UTCDateTime, str_enum


class SessionSource(StrEnum):
    OCPP_WALLBOX = "ocpp-wallbox"
    PV_INVERTER = "pv-inverter"
    PUBLIC = "public"
    #: imported from a charging network's API (pipelet_app/networks, docs/networks.md)
    NETWORK = "network"


class ChargerAuthMode(StrEnum):
    """How a charger proves who it is at the WebSocket upgrade (see docs/charger-identity.md)."""

    BASIC = "basic"  # security profile 1/2: HTTP Basic with the charger's password (the default)
    NONE = "none"  # an operator explicitly chose no authentication; the charger page warns about it


class IdTokenStatus(StrEnum):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"


class Charger(SQLModel, table=True):
    """A charge point as the CSMS knows it; tenant_id is empty while an auto-registered one is unclaimed."""

    __tablename__ = "chargers"

    id: int | None = Field(default=None, primary_key=True)
    charge_point_id: str = Field(unique=True, index=True)
    tenant_id: int | None = Field(default=None, foreign_key="tenants.id", index=True)
    site_id: int | None = Field(default=None, foreign_key="sites.id", index=True)
    vendor: str = ""
    model: str = ""
    serial_number: str = ""
    firmware_version: str = ""
    ocpp_version: str = ""
    status: str = "Unknown"
    is_online: bool = False
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_boot_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    basic_auth_hash: str | None = None
    # "basic" unless an operator chose "none"; a basic charger without a password is refused until its
    # password is rotated or it is claimed (an unclaimed one is let in but trusted with no token).
    auth_mode: ChargerAuthMode = Field(
        default=ChargerAuthMode.BASIC,
        sa_type=str_enum(ChargerAuthMode),
        sa_column_kwargs={"server_default": "basic"},
    )
    # The lowest OCPP security profile this charger may connect with (0 = any); raised, never lowered, when
    # it first connects at the profile an accepted SetNetworkProfile announced (`ocpp/security_profile.py`).
    security_profile: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    security_profile_target: int | None = None
    # The operator's answer to this station's next BootNotification (2.0.1 B01-B03): "Accepted", or
    # "Pending" / "Rejected" to hold it back (ocpp/registration.py). An unclaimed station is Pending anyway.
    registration_status: str = Field(default="Accepted", sa_column_kwargs={"server_default": "Accepted"})
    # Which CSMS node holds the socket (scale-out routing, and a restarted node clears only its own chargers).
    csms_node: str | None = None
    # Version of the local authorization list last accepted by the charger (SendLocalList).
    local_list_version: int = 0
    # The operator's pricing plan for this charger and its multiplier (e.g. 1.1 at a premium location);
    # no plan = sessions here carry no cost.
    pricing_plan_id: int | None = Field(default=None, foreign_key="pricing_plans.id")
    price_multiplier: Decimal = Field(
        default=Decimal(1), sa_column=Column(Numeric(6, 3), nullable=False, server_default="1")
    )
    #: the operator's name for it (the charge point id stays the charger's identity)
    display_name: str = Field(default="", sa_column_kwargs={"server_default": ""})
    #: the network it came from / is operated through (Loop, ChargePoint, EVRange, Helios, Tesla...);
    #: "" = connected to this CSMS directly
    network: str = Field(default="", max_length=32, sa_column_kwargs={"server_default": ""})
    #: retired by its operator: refused by the CSMS, left out of health and attention, kept for history
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: raised by database triggers on every change a live page shows (migration 0035; never set it)
    live_version: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})


class ChargerFirmware(SQLModel, table=True):
    """A firmware version a charger reported (BootNotification), from the first Boot that carried it."""

    __tablename__ = "charger_firmware_history"

    id: int | None = Field(default=None, primary_key=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    version: str
    seen_at: datetime = Field(sa_type=UTCDateTime)


class Connector(SQLModel, table=True):
    __tablename__ = "connectors"
    __table_args__ = (UniqueConstraint("charger_id", "connector_id"),)

    id: int | None = Field(default=None, primary_key=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    connector_id: int
    status: str = "Unknown"
    error_code: str = "NoError"
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The most this connector (1.6) / EVSE (2.0.1) can deliver; session plausibility checks use it, and
    # domain.meter_energy.DEFAULT_MAX_POWER_W when it is not known.
    max_power_w: float | None = None


class IdToken(SQLModel, table=True):
    __tablename__ = "id_tokens"
    __table_args__ = (UniqueConstraint("tenant_id", "token"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", index=True)
    token: str = Field(index=True)
    driver_id: int | None = Field(default=None, foreign_key="drivers.id", index=True)
    status: IdTokenStatus = Field(default=IdTokenStatus.ACCEPTED, sa_type=str_enum(IdTokenStatus))
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    parent_id_tag: str | None = None
    #: OCPP 2.0.1 IdTokenEnumType: ISO14443 (an RFID card, the default), ISO15693, Central, eMAID, KeyCode...
    type: str = Field(default="ISO14443", max_length=16, sa_column_kwargs={"server_default": "ISO14443"})


# OCPP id tokens are case-insensitive: one spelling per tenant, and an index for the lookup by upper(token)
# (migration 0021).
Index("uq_id_tokens_tenant_token_ci", IdToken.tenant_id, func.upper(IdToken.token), unique=True)
Index("ix_id_tokens_token_upper", func.upper(IdToken.token))


class ChargingSession(SQLModel, table=True):
    """One charging session from any source; `transaction_id` is unique so every writer can UPSERT."""

    __tablename__ = "op_charging_sessions"
    # The fleet queries read a driver's sessions by time; INCLUDE lets PostgreSQL aggregate solar share
    # from the index alone (benchmarks/fleet: 415 → 94 ms p50 over 1M sessions).
    __table_args__ = (
        Index(
            "ix_op_charging_sessions_driver_start",
            "driver_id",
            "start_utc",
            "id",
            postgresql_include=["source", "energy_wh", "solar_wh", "review_pending"],
        ),
        # The attention list's flagged and stuck sessions: a few rows among millions, so partial indexes
        # (benchmarks/operator: 0.7 s each as sequential scans over 3.65M sessions).
        Index(
            "ix_op_charging_sessions_review_pending",
            "start_utc",
            postgresql_where=text("review_pending IS true"),
            sqlite_where=text("review_pending = 1"),
        ),
        Index(
            "ix_op_charging_sessions_open",
            "start_utc",
            postgresql_where=text("end_utc IS NULL"),
            sqlite_where=text("end_utc IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    transaction_id: str = Field(unique=True, index=True)
    station_id: str = Field(index=True)
    id_tag: str = ""
    reason: str = ""
    source: SessionSource = Field(sa_type=str_enum(SessionSource), index=True)
    driver_id: int | None = Field(default=None, foreign_key="drivers.id")
    charger_id: int | None = Field(default=None, foreign_key="chargers.id", index=True)
    #: a network session's site as the operator mapped its network location (network_location_sites);
    #: reports take the charger's site first, so this counts only where no Pipelet charger is linked
    network_site_id: int | None = Field(default=None, foreign_key="sites.id", index=True)
    connector_id: int | None = None
    start_utc: datetime = Field(sa_type=UTCDateTime, index=True)
    end_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    meter_start_wh: float | None = None
    meter_stop_wh: float | None = None
    # OCPP: the start was delivered late / flagged offline, so a start register of 0 is not trusted.
    started_offline: bool = False
    energy_wh: float = 0.0
    # What was unusual about the session's readings (domain.meter_energy flags, comma-separated). While
    # `review_pending`, the session is left out of reimbursement and solar share until an operator
    # confirms or corrects it (operations.sessions.review).
    flags: str = ""
    review_pending: bool = False
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_by: int | None = Field(default=None, foreign_key="users.id")
    # Set when an operator corrected the energy: what the charger's readings gave (energy_wh is then the
    # operator's figure, and later messages update this one, not energy_wh).
    energy_reported_wh: float | None = None
    solar_wh: float | None = None
    #: OCPP 2.0.1: the newest `chargingState` of the transaction's events (Charging, EVConnected,
    #: SuspendedEV, SuspendedEVSE, Idle) and the event's time. 2.0.1 says whether the car draws here, not
    #: in the connector's status (Available / Occupied / ...): the surplus loop reads it (actuation.snapshot)
    charging_state: str | None = None
    charging_state_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: solar_wh was computed with minutes of site data missing (OCPP sessions at PV sites)
    solar_estimated: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # The final price in `currency` (exact: NUMERIC, read back as Decimal; docs/pricing.md).
    cost: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 3), nullable=True))
    currency: str = "EUR"
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MeterValue(SQLModel, table=True):
    __tablename__ = "meter_values"

    id: int | None = Field(default=None, primary_key=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    connector_id: int = 0
    session_id: int | None = Field(default=None, foreign_key="op_charging_sessions.id")
    transaction_id: str | None = None
    timestamp: datetime = Field(sa_type=UTCDateTime)
    measurand: str = "Energy.Active.Import.Register"
    value: float
    unit: str = "Wh"
    phase: str | None = None
    context: str | None = None
    location: str | None = None


_METER = MeterValue.__table__  # type: ignore[attr-defined]
# One reading per (session, timestamp, measurand, phase, context, location): a message retried under a
# new message id stores nothing twice (inserts are ON CONFLICT DO NOTHING, ocpp.transactions). Readings
# outside a session are not covered. Also serves every "readings of a session" query (leading column).
Index(
    "uq_meter_values_reading",
    _METER.c.session_id,
    _METER.c.timestamp,
    _METER.c.measurand,
    func.coalesce(_METER.c.phase, text("''")),
    func.coalesce(_METER.c.context, text("''")),
    func.coalesce(_METER.c.location, text("''")),
    unique=True,
    sqlite_where=_METER.c.session_id.isnot(None),
    postgresql_where=_METER.c.session_id.isnot(None),
)
