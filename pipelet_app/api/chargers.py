"""`/api/v1/chargers`: an operator's chargers. Another tenant's charger answers 404."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from pipelet_app.api.audit_out import AuditOut
from pipelet_app.api.deps import DB, Caller, RefId, TextId
from pipelet_app.api.errors import KEYED, ErrorBody, documented
from pipelet_app.clock import utcnow
from pipelet_app.errors import AppError
from pipelet_app.ocpp.commands import hand_over_password, notify_identity_changed
from pipelet_app.ocpp.errors import CommandError
from pipelet_app.operations import charger_admin, health, identity
from pipelet_app.operations import chargers as operations
from pipelet_app.operations.chargers import own_charger
from pipelet_app.operations.overview import Charger, Connector, connectors_of, my_chargers

router = APIRouter(prefix="/chargers", tags=["chargers"])


class CommandFailed(AppError):
    """A command the CSMS could not complete, answered with the status the command bus chose."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ConnectorOut(BaseModel):
    connector_id: int
    status: str
    error_code: str
    max_power_w: float | None = Field(
        None, description="The most it can deliver (W); unknown until the charger reports it or you set it"
    )


class ConnectorIn(BaseModel):
    max_power_w: float = Field(description="The most this connector can deliver, in W (500 to 1,000,000)")


class ChargerOut(BaseModel):
    id: str
    site_id: int | None
    vendor: str
    model: str
    status: str
    online: bool
    last_seen_utc: datetime | None
    auth_mode: str = Field(
        description='"basic" (HTTP Basic password) or "none" (admitted without credentials)'
    )
    name: str = Field(default="", description="The operator's name for it")
    network: str = Field(
        default="", description="loop, chargepoint, evrange, helios, tesla, other; '' = direct"
    )
    security_profile: int = Field(default=0, description="Lowest profile it may connect with (0 any)")
    registration_status: str = Field(
        default="Accepted", description="Answer to its next BootNotification: Accepted, Pending or Rejected"
    )
    firmware_version: str = ""
    retired_utc: datetime | None = Field(default=None, description="Set when retired: the CSMS refuses it")
    connectors: list[ConnectorOut]


def _connector_out(c: Connector) -> ConnectorOut:
    return ConnectorOut(
        connector_id=c.connector_id, status=c.status, error_code=c.error_code, max_power_w=c.max_power_w
    )


def _out(charger: Charger, connectors: list[Connector]) -> ChargerOut:
    return ChargerOut(
        id=charger.charge_point_id,
        site_id=charger.site_id,
        vendor=charger.vendor,
        model=charger.model,
        status=charger.status,
        online=charger.is_online,
        last_seen_utc=charger.last_seen_at,
        auth_mode=str(charger.auth_mode),
        name=charger.display_name,
        network=charger.network,
        security_profile=charger.security_profile,
        registration_status=charger.registration_status,
        firmware_version=charger.firmware_version,
        retired_utc=charger.retired_at,
        connectors=[_connector_out(c) for c in sorted(connectors, key=lambda c: c.connector_id)],
    )


@router.get("", response_model=list[ChargerOut], responses=KEYED)
def list_chargers(principal: Caller, db: DB) -> list[ChargerOut]:
    return [_out(c, connectors) for c, connectors in my_chargers(db, principal)]


@router.get("/{charge_point_id}", response_model=ChargerOut, responses={**KEYED, **documented(404)})
def get_charger(charge_point_id: TextId, principal: Caller, db: DB) -> ChargerOut:
    charger = own_charger(db, principal, charge_point_id)
    return _out(charger, connectors_of(db, charger))


# 1970..2999: a month before any charger could have reported, or so far ahead that the calendar
# arithmetic runs out, is a typo rather than a question.
MONTH_PATTERN = r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$"
Limit = Annotated[int, Query(ge=1, le=100, description="How many of the newest rows to return")]


class SessionOut(BaseModel):
    transaction_id: str
    connector_id: int | None
    id_tag: str
    start_utc: datetime
    end_utc: datetime | None
    energy_wh: float
    reason: str
    missing_messages: int = Field(
        description="2.0.1 TransactionEvents of this transaction not (yet) received, by seqNo; "
        "0 when complete and for 1.6 sessions. While > 0 the session may still change."
    )
    flags: list[str] = Field(
        description="What was unusual about the readings (docs/ocpp-energy-rules.md): "
        "energy_exceeds_max_power, negative_register, register_backwards, register_jump, "
        "start_zero_ambiguous need review; start_from_previous_register, start_from_first_sample, "
        "start_zero_meter_reset say how the start reading was decided"
    )
    review_pending: bool = Field(
        description="Held out of reimbursement and solar share until confirmed or corrected (POST .../review)"
    )
    energy_reported_wh: float | None = Field(
        description="After an operator's correction: the energy the charger's readings gave"
    )


class ReviewIn(BaseModel):
    energy_wh: float | None = Field(
        default=None,
        ge=0,
        description="The corrected energy in Wh; omit it to confirm the charger's figure as it is",
    )


class ReservationOut(BaseModel):
    reservation_id: int
    connector_id: int = Field(description="0 = any connector (1.6 connectorId / 2.0.1 evseId)")
    id_tag: str
    expires_at_utc: datetime
    status: str = Field(
        description="Active, Used, Cancelled, Expired, Removed, or the charger's refusal "
        "(Rejected, Occupied, Faulted, Unavailable); an Active one past its expiry reads Expired"
    )
    session_transaction_id: str | None = Field(description="The session that used the reservation")


class UptimeOut(BaseModel):
    charge_point_id: str
    month: str = Field(description="YYYY-MM, UTC")
    from_utc: datetime
    to_utc: datetime = Field(description="End of the month, or now for the running month")
    online_s: float = Field(description="Connected and no fault")
    degraded_s: float = Field(description="Connected while the charger or a connector was faulted")
    offline_s: float
    online_percent: float | None = Field(description="Of the window; null for a month not yet begun")
    degraded_percent: float | None
    offline_percent: float | None


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 2)


@router.get(
    "/{charge_point_id}/sessions", response_model=list[SessionOut], responses={**KEYED, **documented(404)}
)
def charger_sessions(
    charge_point_id: TextId, principal: Caller, db: DB, limit: Limit = 20
) -> list[SessionOut]:
    """The charger's newest sessions, with how many 2.0.1 transaction messages are still missing."""
    return [SessionOut(**s) for s in operations.sessions(db, principal, charge_point_id, limit)]


@router.post(
    "/{charge_point_id}/sessions/{transaction_id}/review",
    response_model=SessionOut,
    responses={**KEYED, **documented(400, 404)},
)
def review_session(
    charge_point_id: TextId,
    transaction_id: TextId,
    principal: Caller,
    db: DB,
    review: Annotated[ReviewIn | None, Body()] = None,
) -> SessionOut:
    """Confirm a flagged session's energy, or correct it (`energy_wh`): either way it counts again in
    reimbursement and solar share. The charger's own figure stays in `energy_reported_wh`."""
    energy = review.energy_wh if review is not None else None
    return SessionOut(**operations.review_session(db, principal, charge_point_id, transaction_id, energy))


@router.get(
    "/{charge_point_id}/reservations",
    response_model=list[ReservationOut],
    responses={**KEYED, **documented(404)},
)
def charger_reservations(
    charge_point_id: TextId, principal: Caller, db: DB, limit: Limit = 20
) -> list[ReservationOut]:
    """The charger's newest reservations (by when they were made), with the status as it reads now."""
    return [
        ReservationOut(
            reservation_id=r["reservation_id"],
            connector_id=r["connector_id"],
            id_tag=r["id_tag"],
            expires_at_utc=r["expires_at"],
            status=r["status"],
            session_transaction_id=r["transaction_id"],
        )
        for r in operations.reservations(db, principal, charge_point_id, limit)
    ]


class CustomerInformationOut(BaseModel):
    request_id: int
    data: str = Field(description="What the charger holds about the customer, its parts joined in order")
    parts: int
    complete: bool = Field(description="The last part (tbc=false) has arrived")
    generated_at_utc: datetime
    received_at_utc: datetime


@router.get(
    "/{charge_point_id}/customer-information",
    response_model=list[CustomerInformationOut],
    responses={**KEYED, **documented(404)},
)
def charger_customer_information(
    charge_point_id: TextId, principal: Caller, db: DB, limit: Limit = 20
) -> list[CustomerInformationOut]:
    """What the charger reported about customers (OCPP 2.0.1 NotifyCustomerInformation) for the latest
    `customer-information` requests, newest first: for data-subject requests."""
    return [
        CustomerInformationOut(
            request_id=r["request_id"],
            data=r["data"],
            parts=r["parts"],
            complete=r["complete"],
            generated_at_utc=r["generated_at"],
            received_at_utc=r["received_at"],
        )
        for r in operations.customer_information(db, principal, charge_point_id, limit)
    ]


class DisplayMessageOut(BaseModel):
    id: int
    priority: str
    state: str | None
    format: str
    language: str | None
    content: str
    start_at_utc: datetime | None
    end_at_utc: datetime | None
    transaction_id: str | None
    evse_id: int | None
    source: str = Field(description="set (an accepted SetDisplayMessage) or reported (NotifyDisplayMessages)")


@router.get(
    "/{charge_point_id}/display-messages",
    response_model=list[DisplayMessageOut],
    responses={**KEYED, **documented(404)},
)
def charger_display_messages(charge_point_id: TextId, principal: Caller, db: DB) -> list[DisplayMessageOut]:
    """The messages on the charger's screen as the CSMS last knew them (OCPP 2.0.1 display messages)."""
    return [
        DisplayMessageOut(
            id=m.message_id,
            priority=m.priority,
            state=m.state,
            format=m.message_format,
            language=m.language,
            content=m.content,
            start_at_utc=m.start_at,
            end_at_utc=m.end_at,
            transaction_id=m.transaction_id,
            evse_id=m.evse_id,
            source=m.source,
        )
        for m in operations.display_messages(db, principal, charge_point_id)
    ]


@router.get("/{charge_point_id}/uptime", response_model=UptimeOut, responses={**KEYED, **documented(404)})
def charger_uptime(
    charge_point_id: TextId,
    principal: Caller,
    db: DB,
    month: Annotated[
        str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM (UTC); the running month when omitted")
    ] = None,
) -> UptimeOut:
    """Online, degraded and offline time of the charger in one month: a closed month's stored health row
    (the roll-up's, which the site reports sum), the running month computed now the same way."""
    now = utcnow()
    if month:
        year, number = (int(part) for part in month.split("-"))
    else:
        year, number = now.year, now.month
    result = health.uptime(db, principal, charge_point_id, year, number, now)
    u = result.uptime
    return UptimeOut(
        charge_point_id=charge_point_id,
        month=result.label,
        from_utc=result.start,
        to_utc=result.end,
        online_s=u.online_s,
        degraded_s=u.degraded_s,
        offline_s=u.offline_s,
        online_percent=_percent(result.share(u.online_s)),
        degraded_percent=_percent(result.share(u.degraded_s)),
        offline_percent=_percent(result.share(u.offline_s)),
    )


class CommandOut(BaseModel):
    charge_point_id: str
    command: str
    response: dict = Field(description="The charger's own answer payload")


COMMAND_ERRORS = {
    **KEYED,
    **documented(
        400, 404, not_found="No such charger in your tenant, or a command this charger's version lacks"
    ),
    409: {"model": ErrorBody, "description": "The charger is offline"},
    500: {"model": ErrorBody, "description": "The charger answered but saving its effect failed (logged)"},
    502: {"model": ErrorBody, "description": "The charger answered with a CallError"},
    503: {"model": ErrorBody, "description": "The CSMS itself is not reachable (not the charger's fault)"},
    504: {"model": ErrorBody, "description": "The charger did not answer in time"},
}


@router.post("/{charge_point_id}/commands/{name}", response_model=CommandOut, responses=COMMAND_ERRORS)
async def command(
    charge_point_id: TextId,
    name: Annotated[str, Path(pattern=r"^[A-Za-z][A-Za-z0-9-]{1,40}$")],
    principal: Caller,
    db: DB,
    payload: Annotated[dict[str, Any] | None, Body()] = None,
) -> CommandOut:
    """Send a command (`remote-start`, `remote-stop`, `reset`, `unlock`, `set-charging-profile`, ...) and
    answer with the charger's own response; 409 when it is offline, 504 when it does not answer, 503 when
    the CSMS itself does not answer."""
    await run_in_threadpool(own_charger, db, principal, charge_point_id)
    try:
        response = await operations.command(charge_point_id, name, payload, by=principal)
    except CommandError as exc:
        raise CommandFailed(exc.http_status, str(exc) or type(exc).__name__) from exc
    return CommandOut(charge_point_id=charge_point_id, command=name, response=response)


class ChargerIn(BaseModel):
    charge_point_id: str = Field(
        description="1-48 letters, digits, '.', '_', '-', ':', starting with a letter or digit"
    )
    site_id: RefId = Field(description="One of your sites")


class ClaimIn(BaseModel):
    site_id: RefId = Field(description="One of your sites")


class ClaimOut(BaseModel):
    id: str
    site_id: int
    password: str = Field(description="The charger's new Basic-auth password, shown once; stored only hashed")


class PasswordOut(BaseModel):
    id: str
    password: str = Field(description="The charger's new Basic-auth password, shown once; stored only hashed")


class AuthModeIn(BaseModel):
    auth_mode: str = Field(description='"basic" or "none" (admitted without credentials: not recommended)')


class AuthModeOut(BaseModel):
    id: str
    auth_mode: str


@router.post(
    "",
    response_model=ClaimOut,
    status_code=201,
    responses={
        **KEYED,
        **documented(400, 404, 422, not_found="No such site in your tenant"),
        409: {"model": ErrorBody, "description": "A charger with this id exists"},
    },
)
async def create_charger(body: ChargerIn, principal: Caller, db: DB) -> ClaimOut:
    """Register a charger in one of your sites. Answers its Basic-auth password once (user = its id);
    it is stored only hashed."""
    created = await run_in_threadpool(
        identity.create_charger, db, principal, body.charge_point_id, body.site_id
    )
    await notify_identity_changed(created.charge_point_id)
    assert created.site_id is not None
    return ClaimOut(id=created.charge_point_id, site_id=created.site_id, password=created.password)


@router.post(
    "/{charge_point_id}/claim",
    response_model=ClaimOut,
    responses={
        **KEYED,
        **documented(400, 404, 422, not_found="No such unclaimed charger, or no such site in your tenant"),
        409: {"model": ErrorBody, "description": "Your tenant already holds this charger"},
    },
)
async def claim(charge_point_id: TextId, body: ClaimIn, principal: Caller, db: DB) -> ClaimOut:
    """Take an auto-registered charger into one of your sites. Answers its new Basic-auth password once:
    the charger must connect with it (user = its id) from now on. A charger online at the time is sent
    the password over its socket first; one that accepts it stays connected (a 2.0.1 station waiting
    in Pending is then accepted)."""
    claimed = await run_in_threadpool(identity.claim_charger, db, principal, charge_point_id, body.site_id)
    if claimed.online_version:
        await hand_over_password(charge_point_id, claimed.online_version, claimed.password)
    await notify_identity_changed(charge_point_id)
    assert claimed.site_id is not None
    return ClaimOut(id=claimed.charge_point_id, site_id=claimed.site_id, password=claimed.password)


@router.post(
    "/{charge_point_id}/password", response_model=PasswordOut, responses={**KEYED, **documented(404)}
)
async def rotate_password(charge_point_id: TextId, principal: Caller, db: DB) -> PasswordOut:
    """Replace the charger's Basic-auth password with a generated one, answered once. A socket opened with
    the old password is closed; configure the charger with the new one."""
    password = await run_in_threadpool(identity.rotate_password, db, principal, charge_point_id)
    await notify_identity_changed(charge_point_id)
    return PasswordOut(id=charge_point_id, password=password)


@router.put(
    "/{charge_point_id}/auth-mode",
    response_model=AuthModeOut,
    responses={**KEYED, **documented(400, 404, 422)},
)
async def set_auth_mode(charge_point_id: TextId, body: AuthModeIn, principal: Caller, db: DB) -> AuthModeOut:
    """Choose how the charger authenticates: "basic" (default) or "none" (anyone who knows its id can
    connect as it; only for chargers that cannot do Basic auth, on a network you trust)."""
    mode = await run_in_threadpool(identity.set_auth_mode, db, principal, charge_point_id, body.auth_mode)
    await notify_identity_changed(charge_point_id)
    return AuthModeOut(id=charge_point_id, auth_mode=mode.value)


@router.put(
    "/{charge_point_id}/connectors/{connector_id}",
    response_model=ConnectorOut,
    responses={**KEYED, **documented(400, 404, 422)},
)
async def set_connector(
    charge_point_id: TextId,
    connector_id: Annotated[int, Path(ge=1, le=100)],
    body: ConnectorIn,
    principal: Caller,
    db: DB,
) -> ConnectorOut:
    """Set what a connector can deliver (from the charger's data sheet). Sessions whose energy exceeds
    this power over their duration are flagged for review (docs/ocpp-energy-rules.md)."""
    connector = await run_in_threadpool(
        operations.set_connector_max_power, db, principal, charge_point_id, connector_id, body.max_power_w
    )
    return _connector_out(connector)


class ChargerPatch(BaseModel):
    """Only the fields given change."""

    name: str | None = Field(default=None, max_length=100, description="Your name for it; '' clears it")
    network: str | None = Field(
        default=None,
        max_length=32,
        description="loop, chargepoint, evrange, helios, tesla, other; '' = direct",
    )
    site_id: RefId | None = Field(default=None, description="Move it to another of your sites")


class SecurityProfileIn(BaseModel):
    security_profile: int = Field(
        description="The floor: 0 any, 1 Basic, 2 TLS + Basic (needs CSMS_TLS_CERT), "
        "3 TLS + client certificate (needs CSMS_TLS_CLIENT_CA)"
    )


class RegistrationIn(BaseModel):
    registration_status: Literal["Accepted", "Pending", "Rejected"] = Field(
        description="The answer to the station's next BootNotification (OCPP 2.0.1 B02/B03)"
    )


class FirmwareOut(BaseModel):
    version: str
    seen_utc: datetime = Field(description="The first Boot that reported it")


def _one(db: DB, charger: Charger) -> ChargerOut:
    return _out(charger, connectors_of(db, charger))


@router.patch("/{charge_point_id}", response_model=ChargerOut, responses={**KEYED, **documented(400, 404)})
def update_charger(charge_point_id: TextId, body: ChargerPatch, principal: Caller, db: DB) -> ChargerOut:
    """Rename the charger, set its network, or move it to another of your sites (audited)."""
    values = body.model_dump(exclude_unset=True)
    if "name" in values:
        values["display_name"] = values.pop("name")
    if "site_id" in values and values["site_id"] is None:
        values.pop("site_id")
    return _one(db, charger_admin.update_charger(db, principal, charge_point_id, values))


@router.put(
    "/{charge_point_id}/security-profile",
    response_model=ChargerOut,
    responses={
        **KEYED,
        **documented(400, 404),
        409: {"model": ErrorBody, "description": "Profile 2 or 3 without TLS (or client CA) on the CSMS"},
    },
)
async def set_security_profile(
    charge_point_id: TextId, body: SecurityProfileIn, principal: Caller, db: DB
) -> ChargerOut:
    """Set the lowest security profile the charger may connect with (audited); connections below it are
    refused from now on."""
    charger = await run_in_threadpool(
        charger_admin.set_security_profile, db, principal, charge_point_id, body.security_profile
    )
    await notify_identity_changed(charge_point_id)
    return await run_in_threadpool(_one, db, charger)


@router.put(
    "/{charge_point_id}/registration",
    response_model=ChargerOut,
    responses={**KEYED, **documented(400, 404)},
)
async def set_registration(
    charge_point_id: TextId, body: RegistrationIn, principal: Caller, db: DB
) -> ChargerOut:
    """Choose how the CSMS answers the station's next BootNotification (audited): Pending to configure or
    inspect it before accepting it (B02), Rejected to refuse it (B03), Accepted. Set back to Accepted
    while it waits in Pending on its socket, the station is sent TriggerMessage(BootNotification)."""
    charger = await run_in_threadpool(
        charger_admin.set_registration_status, db, principal, charge_point_id, body.registration_status
    )
    await notify_identity_changed(charge_point_id)
    return await run_in_threadpool(_one, db, charger)


@router.post("/{charge_point_id}/retire", response_model=ChargerOut, responses={**KEYED, **documented(404)})
async def retire_charger(charge_point_id: TextId, principal: Caller, db: DB) -> ChargerOut:
    """Take the charger out of service for good: its password goes, the CSMS refuses it; its sessions and
    histories stay. Retiring twice changes nothing."""
    charger = await run_in_threadpool(charger_admin.retire_charger, db, principal, charge_point_id)
    await notify_identity_changed(charge_point_id)
    return await run_in_threadpool(_one, db, charger)


@router.get(
    "/{charge_point_id}/firmware", response_model=list[FirmwareOut], responses={**KEYED, **documented(404)}
)
def charger_firmware(charge_point_id: TextId, principal: Caller, db: DB) -> list[dict]:
    """The firmware versions the charger reported in its Boots, newest first."""
    return charger_admin.firmware_history(db, principal, charge_point_id)


@router.get(
    "/{charge_point_id}/history", response_model=list[AuditOut], responses={**KEYED, **documented(404)}
)
def charger_history(charge_point_id: TextId, principal: Caller, db: DB) -> list[dict]:
    """Who claimed, renamed, moved, re-secured or retired the charger, when, and what changed."""
    return charger_admin.history(db, principal, charge_point_id)


class HealthOut(BaseModel):
    month: str = Field(description="YYYY-MM, UTC")
    online_s: float | None = None
    degraded_s: float | None = None
    offline_s: float | None = None
    fault_s: float | None = Field(default=None, description="Seconds a connector or the charger was in fault")
    faults: int | None = None
    availability_percent: float | None = Field(
        default=None, description="Online (not degraded) time over the month without its fault periods"
    )
    computed_utc: datetime | None = Field(description="When the roll-up stored it; null = not rolled up yet")


class FaultOut(BaseModel):
    connector_id: int
    start_utc: datetime
    end_utc: datetime | None = Field(description="null while ongoing")
    error_code: str
    duration_s: float = Field(description="Up to now while ongoing")
    ongoing: bool


def _month(month: str | None) -> tuple[int, int]:
    if month:
        year, number = (int(part) for part in month.split("-"))
        return year, number
    now = utcnow()
    return now.year, now.month


MonthQuery = Annotated[
    str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM (UTC); the running month when omitted")
]


@router.get("/{charge_point_id}/health", response_model=HealthOut, responses={**KEYED, **documented(404)})
def charger_health(charge_point_id: TextId, principal: Caller, db: DB, month: MonthQuery = None) -> dict:
    """The charger's stored month (docs/health.md): online, degraded, offline, faults, availability."""
    return health.charger_health(db, principal, charge_point_id, *_month(month))


@router.get(
    "/{charge_point_id}/faults", response_model=list[FaultOut], responses={**KEYED, **documented(404)}
)
def charger_faults(
    charge_point_id: TextId, principal: Caller, db: DB, month: MonthQuery = None
) -> list[dict]:
    """Faults detected from the charger's connector status history in the month, with durations."""
    return health.charger_faults(db, principal, charge_point_id, *_month(month))
