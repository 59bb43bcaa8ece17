"""What the CSMS remembers besides sessions: message log, histories, security events, device model.

These tables are written by the CSMS process only; the web app reads them for the operator pages and the
uptime roll-ups. Histories are stored as intervals (``started_at``/``ended_at``) rather than as point
events, so "how long was connector 2 faulted in March" is a sum over rows, not a replay.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from pipelet_app.clock import utcnow
from pipelet_app.db.types import UTCDateTime


class OcppMessage(SQLModel, table=True):
    """One OCPP call in either direction, with the answer that was given or received.

    The stored answer doubles as the retry cache: a charger that re-sends a call with the same unique id,
    action and payload gets the stored answer again and the call's effect is not applied twice.
    """

    __tablename__ = "ocpp_messages"
    # (charger, id): a charger's newest messages by a backward range scan, for the operator's log and
    # for the retry check at the start of a connection (benchmarks/csms).
    __table_args__ = (
        Index("ix_ocpp_messages_cp_unique", "charge_point_id", "unique_id"),
        Index("ix_ocpp_messages_cp_id", "charge_point_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    charge_point_id: str
    direction: str = Field(max_length=3)  # "in" = charger → CSMS, "out" = CSMS → charger
    unique_id: str
    action: str
    payload: str = Field(sa_column=Column(Text, nullable=False))
    payload_hash: str = ""
    response: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    error_code: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class ConnectorStatusPeriod(SQLModel, table=True):
    """A connector's status (and fault) between two StatusNotifications; the open period has no end."""

    __tablename__ = "connector_status_history"

    id: int | None = Field(default=None, primary_key=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    connector_id: int = 0
    evse_id: int | None = None
    status: str
    error_code: str = "NoError"
    info: str | None = None
    vendor_error_code: str | None = None
    started_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_s: float | None = None


class ChargerConnectionPeriod(SQLModel, table=True):
    """A span during which one charger held a WebSocket to one CSMS node (uptime roll-ups sum these)."""

    __tablename__ = "charger_connection_history"

    id: int | None = Field(default=None, primary_key=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    csms_node: str = ""
    ocpp_version: str = ""
    connected_at: datetime = Field(sa_type=UTCDateTime, index=True)
    disconnected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_s: float | None = None
    close_reason: str | None = None


class SecurityEvent(SQLModel, table=True):
    """A SecurityEventNotification from a charger, or one the CSMS raised itself (e.g. bad credentials)."""

    __tablename__ = "ocpp_security_events"

    id: int | None = Field(default=None, primary_key=True)
    charge_point_id: str = Field(index=True)
    charger_id: int | None = Field(default=None, foreign_key="chargers.id", index=True)
    event_type: str
    tech_info: str | None = None
    source: str = "charger"  # "charger" | "csms"
    timestamp: datetime = Field(sa_type=UTCDateTime, index=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DeviceVariable(SQLModel, table=True):
    """One attribute of the 2.0.1 device model (NotifyReport), or one 1.6 configuration key.

    1.6 keys are stored with component ``OCPP16`` so both versions share one configuration view.
    Empty string / 0 instead of NULL in the key columns keep the unique constraint meaningful.
    """

    __tablename__ = "ocpp_device_variables"
    __table_args__ = (
        UniqueConstraint(
            "charger_id",
            "component",
            "component_instance",
            "evse_id",
            "connector_id",
            "variable",
            "variable_instance",
            "attribute_type",
            name="uq_ocpp_device_variable",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    component: str
    component_instance: str = ""
    evse_id: int = 0
    connector_id: int = 0
    variable: str
    variable_instance: str = ""
    attribute_type: str = "Actual"
    value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    mutability: str | None = None
    data_type: str | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EvChargingNeeds(SQLModel, table=True):
    """What the car asked for (2.0.1 NotifyEVChargingNeeds): the smart-charging loop plans with it."""

    __tablename__ = "ev_charging_needs"

    id: int | None = Field(default=None, primary_key=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    evse_id: int
    session_id: int | None = Field(default=None, foreign_key="op_charging_sessions.id", index=True)
    requested_energy_transfer: str = ""
    departure_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    energy_amount_wh: float | None = None
    ev_min_current_a: float | None = None
    ev_max_current_a: float | None = None
    ev_max_voltage_v: float | None = None
    ev_max_power_w: float | None = None  # DC only
    max_schedule_tuples: int | None = None
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EvChargingSchedule(SQLModel, table=True):
    """The schedule an ISO 15118 car chose within the CSMS's offer (2.0.1 NotifyEVChargingSchedule), with
    the CSMS's verdict: Rejected ones are kept too (the CSMS renegotiated after them)."""

    __tablename__ = "ev_charging_schedules"

    id: int | None = Field(default=None, primary_key=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    evse_id: int
    session_id: int | None = Field(default=None, foreign_key="op_charging_sessions.id", index=True)
    time_base: datetime = Field(sa_type=UTCDateTime)
    schedule: str = Field(sa_column=Column(Text, nullable=False))  # chargingSchedule as JSON (camelCase)
    status: str
    reason: str | None = None
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChargingProfileRecord(SQLModel, table=True):
    """A charging profile the CSMS sent, with the charger's answer; cleared ones keep their row."""

    __tablename__ = "ocpp_charging_profiles"

    id: int | None = Field(default=None, primary_key=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    evse_id: int = 0  # 1.6 connectorId or 2.0.1 evseId; 0 = the whole charger
    profile_id: int
    stack_level: int = 0
    purpose: str = ""
    profile: str = Field(sa_column=Column(Text, nullable=False))
    status: str = ""
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    cleared_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LocalListEntry(SQLModel, table=True):
    """One id token as the charger's local authorization list holds it, after the last accepted update.

    This is what a Differential SendLocalList is computed against, so it is written only when the
    charger answered Accepted: replaced by a Full update, patched by a Differential one.
    """

    __tablename__ = "local_list_entries"
    __table_args__ = (UniqueConstraint("charger_id", "id_token", name="uq_local_list_entry"),)

    id: int | None = Field(default=None, primary_key=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    id_token: str
    status: str
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    parent_id_tag: str | None = None  # 1.6 parentIdTag / 2.0.1 groupIdToken.idToken


class Reservation(SQLModel, table=True):
    """A ReserveNow the CSMS sent, with the charger's answer and what became of it.

    `status` is stored as the charger answered (Accepted is stored as Active) and moves on to Used,
    Cancelled, Expired or Removed; an Active row past `expires_at` reads as Expired
    (`reservations.effective_status`) without anyone having to write it.
    """

    __tablename__ = "reservations"
    __table_args__ = (UniqueConstraint("charger_id", "reservation_id", name="uq_reservation"),)

    id: int | None = Field(default=None, primary_key=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    connector_id: int = 0  # 1.6 connectorId / 2.0.1 evseId; 0 = any connector of the charger
    reservation_id: int
    id_tag: str
    parent_id_tag: str | None = None
    expires_at: datetime = Field(sa_type=UTCDateTime)
    status: str
    session_id: int | None = Field(default=None, foreign_key="op_charging_sessions.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TransactionSeqNos(SQLModel, table=True):
    """Which 2.0.1 TransactionEvent seqNos of a transaction arrived, so missing messages show.

    `seen` is the set of received seqNos as compact ranges (`0-3,5,7-9`); `missing` is how many numbers
    between 0 and `last_seq_no` never arrived (0 = complete so far). A late message fills its gap.
    """

    __tablename__ = "ocpp_transaction_seq_nos"

    session_id: int = Field(foreign_key="op_charging_sessions.id", primary_key=True)
    last_seq_no: int
    seen: str = Field(sa_column=Column(Text, nullable=False))
    missing: int = Field(default=0, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CustomerInformationReport(SQLModel, table=True):
    """One NotifyCustomerInformation part: what a station holds about a customer (a data-subject request,
    N09/N10). Parts of one request are joined by `seq_no`; a retried part replaces itself."""

    __tablename__ = "customer_information_reports"
    __table_args__ = (UniqueConstraint("charger_id", "request_id", "seq_no"),)

    id: int | None = Field(default=None, primary_key=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    request_id: int
    seq_no: int
    tbc: bool = False
    data: str = Field(sa_column=Column(Text, nullable=False))
    generated_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DisplayMessage(SQLModel, table=True):
    """A message on a station's screen as the CSMS last knew it (O01-O06): set by SetDisplayMessage
    (accepted), reported by NotifyDisplayMessages, removed by ClearDisplayMessage (accepted)."""

    __tablename__ = "display_messages"
    __table_args__ = (UniqueConstraint("charger_id", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    charger_id: int = Field(foreign_key="chargers.id", index=True)
    message_id: int
    priority: str
    state: str | None = None
    message_format: str
    language: str | None = None
    content: str = Field(sa_column=Column(Text, nullable=False))
    start_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    transaction_id: str | None = None
    evse_id: int | None = None
    source: str = "set"  # "set" (accepted SetDisplayMessage) | "reported" (NotifyDisplayMessages)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
