"""`/api/v1/sites`: an operator's sites, their devices, MQTT topics and energy series. Thin over
`services.sites`, which checks role and tenant (another tenant's site answers 404)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from pipelet_app.api.audit_out import AuditOut
from pipelet_app.api.chargers import MONTH_PATTERN, HealthOut
from pipelet_app.api.deps import DB, Caller, ObjectId, RefId
from pipelet_app.api.errors import KEYED, documented
from pipelet_app.clock import utcnow
from pipelet_app.operations import health
from pipelet_app.services import site_inverters as inverter_service
from pipelet_app.services import site_mqtt as mqtt_service
from pipelet_app.services import sites as service
from pipelet_app.services import surplus as surplus_service

router = APIRouter(prefix="/sites", tags=["sites"])
NOT_FOUND = {**KEYED, **documented(404, not_found="No such site in your tenant")}
#: routes that read a JSON body also answer 400 when it cannot be parsed
WITH_BODY = {**NOT_FOUND, **documented(400)}

Kind = Literal["pv", "grid", "battery", "charger", "load"]
Lifecycle = Literal["planned", "construction", "commissioning", "operating", "decommissioned"]


class Device(BaseModel):
    asset_id: str = Field(min_length=1, max_length=100, description="The assetId its MQTT messages carry")
    kind: Kind
    charge_point_id: str | None = Field(
        default=None, max_length=100, description="An OCPP charger at this site (chargers only)"
    )
    connector_id: int | None = Field(default=None, ge=1, le=100, description="Required with charge_point_id")
    pin_to_phase_mapping: dict[str, Literal["L1", "L2", "L3"]] | None = Field(
        default=None, description='Charger pin to site phase, e.g. {"1": "L2", "2": "L3", "3": "L1"}'
    )
    switch_phases: bool = Field(
        default=False,
        description="Chargers only: charger and car can switch between 1 and 3 phases; the PV-surplus "
        "loop then sends profiles with numberPhases",
    )


class Mqtt(BaseModel):
    measurements_topic: str
    transactions_topic: str


class SiteIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    # Required: a site's days are local days (reports, digests); a silent UTC shifted every one of them.
    timezone: str = Field(min_length=1, max_length=64, description="IANA zone, e.g. Europe/Berlin")
    currency: str = Field(default="EUR", max_length=3, description="ISO 4217; the site's prices are in it")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    grid_limit_a: float | None = Field(default=None, gt=0, le=10_000, description="Grid connection, A/phase")
    phases: Literal[1, 3] = 3
    address: str = Field(default="", max_length=500, description="Postal address, one line")
    commissioning_date: date | None = Field(default=None, description="First day in service")
    lifecycle_state: Lifecycle = "operating"
    spv_id: RefId | None = Field(
        default=None, description="The SPV (of your tenant) owning the site's assets"
    )
    devices: list[Device] = Field(default_factory=list, max_length=500)


class SitePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    currency: str | None = Field(default=None, max_length=3)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    grid_limit_a: float | None = Field(default=None, gt=0, le=10_000)
    phases: Literal[1, 3] | None = None
    address: str | None = Field(default=None, max_length=500)
    commissioning_date: date | None = None
    lifecycle_state: Lifecycle | None = None
    spv_id: RefId | None = None
    devices: list[Device] | None = Field(default=None, max_length=500, description="Replaces the list")


class SiteOut(BaseModel):
    id: int
    name: str
    timezone: str
    currency: str
    latitude: float | None
    longitude: float | None
    grid_limit_a: float | None
    phases: int
    address: str
    commissioning_date: date | None
    lifecycle_state: str
    spv_id: int | None
    devices: list[Device]
    mqtt: Mqtt


class EnergyPoint(BaseModel):
    time_utc: datetime = Field(description="Start of the step")
    pv_w: float | None = Field(description="Mean PV production over the minutes with data")
    grid_w: float | None = Field(description="> 0 import, < 0 export")
    battery_w: float | None = Field(description="> 0 discharge, < 0 charge")
    battery_soc: float | None = Field(description="Percent")
    load_w: float | None = Field(description="House load without the cars (measured or from the balance)")
    ev_w: float | None


class EnergyTotals(BaseModel):
    pv_wh: float
    grid_import_wh: float
    grid_export_wh: float
    ev_wh: float
    ev_solar_wh: float = Field(description="The cars' solar energy by docs/solar-share.md")


class EnergyOut(BaseModel):
    series: list[EnergyPoint]
    totals: EnergyTotals


def _devices(devices: list[Device] | None) -> list[service.DeviceIn] | None:
    if devices is None:
        return None
    return [service.DeviceIn(**d.model_dump()) for d in devices]


@router.get("", response_model=list[SiteOut], responses=KEYED)
def list_sites(principal: Caller, db: DB) -> list[dict]:
    return service.list_sites(db, principal)


@router.post("", response_model=SiteOut, status_code=201, responses={**KEYED, **documented(400)})
def create_site(body: SiteIn, principal: Caller, db: DB, response: Response) -> dict:
    site = service.create_site(db, principal, body.model_dump(exclude={"devices"}), _devices(body.devices))
    response.headers["Location"] = f"/api/v1/sites/{site['id']}"
    return site


@router.get("/{site_id}", response_model=SiteOut, responses=NOT_FOUND)
def get_site(site_id: ObjectId, principal: Caller, db: DB) -> dict:
    return service.get_site(db, principal, site_id)


@router.patch("/{site_id}", response_model=SiteOut, responses=WITH_BODY)
def update_site(site_id: ObjectId, body: SitePatch, principal: Caller, db: DB) -> dict:
    values = body.model_dump(exclude={"devices"}, exclude_unset=True)
    return service.update_site(db, principal, site_id, values, _devices(body.devices))


@router.get("/{site_id}/history", response_model=list[AuditOut], responses=NOT_FOUND)
def site_history(site_id: ObjectId, principal: Caller, db: DB) -> list[dict]:
    """Who created and changed the site, when, and what (newest first)."""
    return service.site_history(db, principal, site_id)


@router.get("/{site_id}/health", response_model=HealthOut, responses=NOT_FOUND)
def site_health(
    site_id: ObjectId,
    principal: Caller,
    db: DB,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM (UTC)")] = None,
) -> dict:
    """The site's stored month: its chargers' online, degraded and offline time summed, availability."""
    if month:
        year, number = (int(part) for part in month.split("-"))
    else:
        now = utcnow()
        year, number = now.year, now.month
    return health.site_health(db, principal, site_id, year, number)


@router.get("/{site_id}/energy", response_model=EnergyOut, responses=NOT_FOUND)
def site_energy(
    site_id: ObjectId,
    principal: Caller,
    db: DB,
    from_: Annotated[datetime | None, Query(alias="from", description="ISO 8601 with offset")] = None,
    to: Annotated[datetime | None, Query(description="ISO 8601 with offset; default now")] = None,
    step: Annotated[str, Query(max_length=6, description="1m, 15m, 1h, 1d ...")] = "1m",
) -> dict:
    """Mean powers per step and energy totals from the site's 1-minute series (default: the last 24 h)."""
    return service.energy(db, principal, site_id, from_, to, step)


# ------------------------------------------------------------------------------------ MQTT credential


class MqttCredentialIn(BaseModel):
    """Nothing to choose: Pipelet generates the password. Any field sent is refused (422 naming it) before
    anything happens, because issuing cuts the gateway's current password: a client that believes it sets
    its own (`{"password": ...}`) must not rotate the live one and lock its gateway out."""

    model_config = ConfigDict(extra="forbid")


class MqttCredentialOut(BaseModel):
    site_id: int
    username: str = Field(description="The gateway's broker user, site-{id}")
    client_id: str = Field(
        description="The MQTT client id the gateway must connect with (the embedded broker refuses any "
        "other for this login, so no other site's login can take over this gateway's session)"
    )
    password: str = Field(description="Shown in this answer only; Pipelet keeps a hash of it")
    measurements_topic: str
    transactions_topic: str
    issued_at: datetime
    live: bool = Field(
        description="True: the broker took it and the previous password no longer works (its sessions "
        "were closed). False: stored; the broker learns it at its next `pipelet mqtt-acl` run and reload"
    )


class MqttLoginOut(BaseModel):
    username: str = Field(description="The gateway's broker user, site-{id}")
    client_id: str = Field(
        description="The MQTT client id the gateway must connect with (the embedded broker refuses any "
        "other for this login, so no other site's login can take over this gateway's session)"
    )
    issued_at: datetime | None = Field(description="When its current password was issued; null: never")


@router.get("/{site_id}/mqtt-credentials", response_model=MqttLoginOut, responses=NOT_FOUND)
def mqtt_login(site_id: ObjectId, principal: Caller, db: DB) -> dict:
    """Whether the site's gateway has a broker password, and since when; never the password itself."""
    return mqtt_service.credential_status(db, principal, site_id)


@router.post(
    "/{site_id}/mqtt-credentials",
    response_model=MqttCredentialOut,
    status_code=201,
    responses={**WITH_BODY, **documented(502)},
)
async def issue_mqtt_credential(
    site_id: ObjectId, principal: Caller, db: DB, body: MqttCredentialIn | None = None
) -> dict:
    """A new broker password for the site's gateway (user site-{id}, which may publish to the site's two
    topics only), replacing the previous one. No body (or `{}`); any field is a 422 naming it, and nothing
    changes. 502 when the broker did not confirm: nothing changed in the database; the message says whether
    the broker kept the previous password or the outcome is unknown (then issue again)."""
    return await mqtt_service.issue_credential(db, principal, site_id)


# ------------------------------------------------------------------------------------ surplus


SurplusMode = Literal["pv-only", "pv-priority", "eco-plus"]


class SurplusIn(BaseModel):
    """Only the fields given change."""

    enabled: bool | None = Field(default=None, description="Turn the PV-surplus controller (beta) on or off")
    mode: SurplusMode | None = None
    min_soc: float | None = Field(
        default=None, ge=0, le=100, description="Below this home-battery charge (%) the battery goes first"
    )
    battery_priority: bool | None = None
    interval_s: int | None = Field(default=None, ge=10, le=30, description="Control cycle, seconds")
    tariff_source: Literal["none", "awattar", "csv"] | None = Field(
        default=None, description="Where Eco-plus gets its prices; none = it plans like PV-priority"
    )
    tariff_region: Literal["de", "at"] | None = Field(default=None, description="aWATTar market (default de)")
    tariff_csv: str | None = Field(
        default=None, max_length=500_000, description="With csv: `time_utc,price_per_kwh` rows (EUR/kWh)"
    )


class SurplusOut(BaseModel):
    site_id: int
    enabled: bool
    mode: SurplusMode
    min_soc: float | None
    battery_priority: bool
    interval_s: int
    tariff_source: str
    tariff_region: str | None
    tariff_slots: int = Field(description="Price slots cached for the loop")
    tariff_until_utc: datetime | None = Field(description="End of the last cached slot")
    tariff_fetched_utc: datetime | None
    tariff_error: str | None = Field(description="Why the last fetch failed (the cached prices stay)")
    tariff_status: str = Field(description="What the loop does with the prices now")


class BaselineOut(BaseModel):
    limit_a: float = Field(description="The connector's share of the site cap (its TxDefaultProfile)")
    sent: str


class ChargerDecisionOut(BaseModel):
    charger: str = Field(description="charge point id and connector, e.g. CP-1/1")
    limit_a: float
    phases: int
    charging: bool
    reason: str
    sent: str = Field(description="Accepted, Rejected, fallback:<purpose>, offline, unchanged, ...")
    purpose: str | None = None
    unit: str | None = None
    baseline: BaselineOut | None = Field(
        default=None, description="The connector's baseline, when this cycle sent it during a transaction"
    )


class DecisionOut(BaseModel):
    time_utc: datetime
    mode: str
    stale: bool = Field(description="No site measurement for 2 minutes: a safe limit per mode was used")
    available_w: float
    grid_w: float | None
    pv_w: float | None
    reason: str
    chargers: list[ChargerDecisionOut]


@router.get("/{site_id}/surplus", response_model=SurplusOut, responses=NOT_FOUND)
def get_surplus(site_id: ObjectId, principal: Caller, db: DB) -> dict:
    return surplus_service.get_surplus(db, principal, site_id)


@router.put("/{site_id}/surplus", response_model=SurplusOut, responses=WITH_BODY)
def put_surplus(site_id: ObjectId, body: SurplusIn, principal: Caller, db: DB) -> dict:
    values = body.model_dump(exclude_unset=True)
    return surplus_service.put_surplus(db, principal, site_id, values)


@router.get("/{site_id}/surplus/decisions", response_model=list[DecisionOut], responses=NOT_FOUND)
def surplus_decisions(
    site_id: ObjectId, principal: Caller, db: DB, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> list[dict]:
    """What the controller decided in its latest cycles, and why (newest first)."""
    return surplus_service.decisions(db, principal, site_id, limit)


# ------------------------------------------------------------------------------------ inverter clouds


class InverterLinkIn(BaseModel):
    brand: str = Field(description="A brand whose public API gives PV production: enphase, solaredge")
    credentials: dict[str, str] = Field(
        description="The brand's fields (solaredge: api_key; enphase: access_token, refresh_token); "
        "stored encrypted, never returned"
    )
    system_id: str | None = Field(default=None, max_length=100, description="Required if several systems")
    asset_id: str | None = Field(
        default=None,
        max_length=100,
        description="The site's pv device (made if missing; default <brand>-pv)",
    )


class InverterLinkOut(BaseModel):
    id: int
    site_id: int
    brand: str
    system_id: str
    asset_id: str | None
    status: str = Field(description="pending, connected, throttled, error, integration-error, reauth-needed")
    message: str | None
    last_poll_utc: datetime | None
    stored_until_utc: datetime | None = Field(description="End of the newest production interval stored")
    next_poll_utc: datetime | None


@router.get("/{site_id}/inverters", response_model=list[InverterLinkOut], responses=NOT_FOUND)
def list_inverters(site_id: ObjectId, principal: Caller, db: DB) -> list[dict]:
    """The inverter-cloud accounts linked to the site as PV sources (never their credentials)."""
    return inverter_service.links(db, principal, site_id)


@router.post(
    "/{site_id}/inverters",
    response_model=InverterLinkOut,
    status_code=201,
    responses={**WITH_BODY, **documented(502)},
)
async def link_inverter(site_id: ObjectId, body: InverterLinkIn, principal: Caller, db: DB) -> dict:
    """Test the credentials live, choose the system, store the link: its PV production feeds the site."""
    inverter_service.check_site(db, principal, site_id)
    credentials = inverter_service.check_input(body.brand, body.credentials, body.asset_id)
    checked, systems = await inverter_service.connect_systems_or_error(body.brand, credentials)
    return inverter_service.link(
        db, principal, site_id, body.brand, checked, systems, body.system_id, body.asset_id
    )


@router.delete("/{site_id}/inverters/{link_id}", status_code=204, responses=NOT_FOUND)
def unlink_inverter(site_id: ObjectId, link_id: ObjectId, principal: Caller, db: DB) -> Response:
    """Remove the link and its credentials; the production already stored stays."""
    inverter_service.unlink(db, principal, site_id, link_id)
    return Response(status_code=204)
