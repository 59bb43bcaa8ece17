"""`/api/v1/networks`: an operator's charging-network accounts (Loop, EVRange, ChargePoint, Helios).

Thin over `services.networks`, which checks role and tenant (another tenant's account answers 404).
Connecting tests the credentials against the network first and stores nothing when they fail; credentials
are never answered back. See docs/networks.md.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from pipelet_app.api.deps import DB, Caller
from pipelet_app.api.errors import KEYED, ErrorBody, documented
from pipelet_app.auth import Role, require
from pipelet_app.runtime import jobs
from pipelet_app.services import networks as service

router = APIRouter(prefix="/networks", tags=["networks"])
NOT_FOUND = {**KEYED, **documented(404, not_found="No such network account in your tenant")}
#: a database id (int4 on PostgreSQL): a larger number is a 422, not a database error
AccountId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The network account's id")]
UNREACHABLE = {502: {"model": ErrorBody, "description": "The network did not accept the test call now"}}


class FieldOut(BaseModel):
    name: str
    label: str
    secret: bool


class NetworkTypeOut(BaseModel):
    network: str
    display_name: str
    auth_kind: str
    fields: list[FieldOut]
    configured: bool = Field(description="False when this installation has no API address for it")
    source: str = Field(description="Where the adapter's shapes come from")


class SkippedOut(BaseModel):
    kind: str
    ref: str
    reason: str


class AccountOut(BaseModel):
    id: int
    network: str
    display_name: str
    label: str
    status: str = Field(description="pending, connected, throttled, error, integration-error, reauth-needed")
    last_success_utc: datetime | None
    last_poll_utc: datetime | None
    next_poll_utc: datetime | None
    last_error: str | None = Field(description="The cause of the last failure (kept after a later success)")
    last_error_utc: datetime | None
    failures: int
    sessions: int
    chargers: int
    skipped: list[SkippedOut] = Field(description="Rows the last poll left out, with the reason")
    created_at: datetime


class ConnectIn(BaseModel):
    network: str = Field(max_length=32, description="loop, evrange, chargepoint or helios")
    label: str = Field(default="", max_length=200, description="Your name for the account")
    credentials: dict[str, str] = Field(description="The network's fields (see GET /networks/types)")


class CredentialsIn(BaseModel):
    credentials: dict[str, str]


class NetworkChargerOut(BaseModel):
    external_id: str
    name: str
    site: str
    vendor: str
    model: str
    serial: str
    connectors: int
    charger_id: int | None = Field(description="The charger of this CSMS it was identified as")


class NetworkSessionOut(BaseModel):
    transaction_id: str
    session_id: str
    station_id: str
    charger_id: int | None
    connector_id: int | None
    start_utc: datetime
    end_utc: datetime | None
    energy_wh: float
    cost: Decimal | None
    currency: str


class NetworkLocationOut(BaseModel):
    location_id: str = Field(description="The network's id of the location (its site)")
    name: str = Field(description="The network's name for it")
    chargers: int = Field(description="Chargers the network reports there")
    linked_chargers: int = Field(
        description="Of these, identified as chargers of this CSMS: their sessions count for their own site"
    )
    site_id: int | None = Field(description="Your site its sessions count for in reports; null: none")
    site: str | None


class LocationSiteIn(BaseModel):
    location_id: str = Field(min_length=1, max_length=200, description="A location of GET .../locations")
    site_id: int | None = Field(ge=1, le=2**31 - 1, description="One of your sites; null removes the mapping")


@router.get("/types", response_model=list[NetworkTypeOut], responses=KEYED)
def network_types(principal: Caller) -> list[dict]:
    """The networks an operator can connect and the credential fields each needs."""
    require(principal, Role.OPERATOR)
    return service.catalogue()


@router.get("", response_model=list[AccountOut], responses=KEYED)
def list_accounts(principal: Caller, db: DB) -> list[dict]:
    """Your tenant's network accounts with their state, last successful sync and last failure's cause."""
    return service.list_accounts(db, principal)


@router.post(
    "", response_model=AccountOut, status_code=201, responses={**KEYED, **documented(400, 409), **UNREACHABLE}
)
async def connect(body: ConnectIn, principal: Caller, db: DB, response: Response) -> dict:
    """Connect an account: the credentials are tested against the network, then stored encrypted; the
    first sync runs at once. Refused credentials answer 422 and store nothing."""
    require(principal, Role.OPERATOR)
    credentials = await service.tested_credentials(body.network, body.label, body.credentials)
    out = await run_in_threadpool(service.save_account, db, principal, body.network, body.label, credentials)
    db.commit()
    response.headers["Location"] = f"/api/v1/networks/{out['id']}"
    await jobs.request_network_poll(out["id"])
    return out


@router.get("/{account_id}", response_model=AccountOut, responses=NOT_FOUND)
def get_account(account_id: AccountId, principal: Caller, db: DB) -> dict:
    return service.get_account(db, principal, account_id)


@router.put(
    "/{account_id}/credentials",
    response_model=AccountOut,
    responses={**NOT_FOUND, **documented(400), **UNREACHABLE},
)
async def replace_credentials(account_id: AccountId, body: CredentialsIn, principal: Caller, db: DB) -> dict:
    """New credentials (after `reauth-needed`), tested first; the account syncs at once."""
    network = await run_in_threadpool(service.account_network, db, principal, account_id)
    credentials = await service.tested_credentials(network, "", body.credentials)
    out = await run_in_threadpool(service.replace_credentials, db, principal, account_id, credentials)
    db.commit()
    await jobs.request_network_poll(account_id)
    return out


@router.post(
    "/{account_id}/sync",
    response_model=AccountOut,
    status_code=202,
    responses={**NOT_FOUND, **documented(409)},
)
async def sync_now(account_id: AccountId, principal: Caller, db: DB) -> dict:
    """Sync now: the account is due at once (an account being polled finishes its poll first)."""
    out = await run_in_threadpool(service.request_sync, db, principal, account_id)
    db.commit()
    await jobs.request_network_poll(account_id)
    return out


@router.delete("/{account_id}", status_code=204, responses=NOT_FOUND)
def disconnect(account_id: AccountId, principal: Caller, db: DB) -> Response:
    """Forget the account's credentials and chargers; the sessions it brought in stay."""
    service.disconnect(db, principal, account_id)
    return Response(status_code=204)


@router.get("/{account_id}/chargers", response_model=list[NetworkChargerOut], responses=NOT_FOUND)
def account_chargers(account_id: AccountId, principal: Caller, db: DB) -> list[dict]:
    """Chargers the network reports, each with the charger of this CSMS it was identified as."""
    return service.account_chargers(db, principal, account_id)


@router.get("/{account_id}/sessions", response_model=list[NetworkSessionOut], responses=NOT_FOUND)
def account_sessions(
    account_id: AccountId,
    principal: Caller,
    db: DB,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[datetime | None, Query(description="Only sessions that started before this")] = None,
) -> list[dict]:
    """The network's sessions in your tenant (as stored in the charging sessions), newest first."""
    return service.account_sessions(db, principal, account_id, limit=limit, before=before)


@router.get("/{account_id}/locations", response_model=list[NetworkLocationOut], responses=NOT_FOUND)
def account_locations(account_id: AccountId, principal: Caller, db: DB) -> list[dict]:
    """The network's locations of this account, each with the site of yours its sessions count for."""
    return service.account_locations(db, principal, account_id)


@router.put(
    "/{account_id}/locations",
    response_model=NetworkLocationOut,
    responses={**NOT_FOUND, **documented(400)},
)
def set_location_site(account_id: AccountId, body: LocationSiteIn, principal: Caller, db: DB) -> dict:
    """Map a network location to one of your sites (`site_id` null: unmap). Its sessions, those already
    stored too, then count for that site in the site's reports; a charger identified as one of this CSMS's
    counts for its own site. A location the account does not have is a 422 naming `location_id`; another
    tenant's site answers 404 like a missing one."""
    return service.set_location_site(db, principal, account_id, body.location_id, body.site_id)
