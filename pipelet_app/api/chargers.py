"""`/api/v1/chargers`: an operator's chargers. Another tenant's charger answers 404."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlmodel import select

from pipelet_app.api.deps import DB, Caller
from pipelet_app.api.errors import KEYED, ErrorBody, documented
from pipelet_app.auth import AuthError, require
from pipelet_app.db.models import Charger, Connector, Role
from pipelet_app.ocpp.errors import CommandError
from pipelet_app.operations import chargers as operations
from pipelet_app.operations.chargers import own_charger

router = APIRouter(prefix="/chargers", tags=["chargers"])


class CommandFailed(AuthError):
    """A command the CSMS could not complete, answered with the status the command bus chose."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ConnectorOut(BaseModel):
    connector_id: int
    status: str
    error_code: str


class ChargerOut(BaseModel):
    id: str
    site_id: int | None
    vendor: str
    model: str
    status: str
    online: bool
    last_seen_utc: datetime | None
    connectors: list[ConnectorOut]


def _out(charger: Charger, connectors: list[Connector]) -> ChargerOut:
    return ChargerOut(
        id=charger.charge_point_id,
        site_id=charger.site_id,
        vendor=charger.vendor,
        model=charger.model,
        status=charger.status,
        online=charger.is_online,
        last_seen_utc=charger.last_seen_at,
        connectors=[
            ConnectorOut(connector_id=c.connector_id, status=c.status, error_code=c.error_code)
            for c in sorted(connectors, key=lambda c: c.connector_id)
        ],
    )


@router.get("", response_model=list[ChargerOut], responses=KEYED)
def list_chargers(principal: Caller, db: DB) -> list[ChargerOut]:
    require(principal, Role.OPERATOR)
    chargers = db.exec(
        select(Charger).where(Charger.tenant_id == principal.tenant_id).order_by(Charger.charge_point_id)
    ).all()
    connectors = db.exec(select(Connector).where(Connector.charger_id.in_([c.id for c in chargers]))).all()
    by_charger: dict[int, list[Connector]] = {}
    for connector in connectors:
        by_charger.setdefault(connector.charger_id, []).append(connector)
    return [_out(c, by_charger.get(c.id, [])) for c in chargers]


@router.get("/{charge_point_id}", response_model=ChargerOut, responses={**KEYED, **documented(404)})
def get_charger(charge_point_id: str, principal: Caller, db: DB) -> ChargerOut:
    charger = own_charger(db, principal, charge_point_id)
    connectors = db.exec(select(Connector).where(Connector.charger_id == charger.id)).all()
    return _out(charger, list(connectors))


class CommandOut(BaseModel):
    charge_point_id: str
    command: str
    response: dict = Field(description="The charger's own answer payload")


COMMAND_ERRORS = {
    **KEYED,
    **documented(404, not_found="No such charger in your tenant, or a command this charger's version lacks"),
    409: {"model": ErrorBody, "description": "The charger is offline"},
    502: {"model": ErrorBody, "description": "The charger answered with a CallError"},
    504: {"model": ErrorBody, "description": "The charger did not answer in time"},
}


@router.post("/{charge_point_id}/commands/{name}", response_model=CommandOut, responses=COMMAND_ERRORS)
async def command(
    charge_point_id: str,
    name: Annotated[str, Path(pattern=r"^[A-Za-z][A-Za-z0-9-]{1,40}$")],
    principal: Caller,
    db: DB,
    payload: Annotated[dict[str, Any] | None, Body()] = None,
) -> CommandOut:
    """Send a command (`remote-start`, `remote-stop`, `reset`, `unlock`, `set-charging-profile`, ...) and
    answer with the charger's own response; 409 when it is offline, 504 when it does not answer."""
    await run_in_threadpool(own_charger, db, principal, charge_point_id)
    try:
        response = await operations.command(charge_point_id, name, payload)
    except CommandError as exc:
        raise CommandFailed(exc.http_status, str(exc) or type(exc).__name__) from exc
    return CommandOut(charge_point_id=charge_point_id, command=name, response=response)
