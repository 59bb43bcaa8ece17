"""`/api/v1/fleet-customers`: the fleets an operator serves and their drivers. Thin over
`services.fleet_customers` (role and tenant checked there; another operator's customer answers 404)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from pipelet_app.api.audit_out import AuditOut
from pipelet_app.api.deps import DB, Caller, ObjectId
from pipelet_app.api.errors import KEYED, documented
from pipelet_app.services import fleet_customers as service

router = APIRouter(prefix="/fleet-customers", tags=["fleet-customers"])
NOT_FOUND = {**KEYED, **documented(404, not_found="No such fleet customer of yours")}


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class CustomerOut(BaseModel):
    id: int
    name: str
    slug: str
    drivers: int = Field(description="How many drivers it has")


class DriverIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(default="", max_length=320)


class DriverOut(BaseModel):
    id: int
    fleet_id: int
    name: str
    email: str


@router.get("", response_model=list[CustomerOut], responses=KEYED)
def list_customers(principal: Caller, db: DB) -> list[dict]:
    return service.list_customers(db, principal)


@router.post("", response_model=CustomerOut, status_code=201, responses={**KEYED, **documented(400)})
def create_customer(body: CustomerIn, principal: Caller, db: DB) -> dict:
    return service.create_customer(db, principal, body.name)


@router.get("/{fleet_id}/drivers", response_model=list[DriverOut], responses=NOT_FOUND)
def list_drivers(fleet_id: ObjectId, principal: Caller, db: DB) -> list[dict]:
    return service.list_drivers(db, principal, fleet_id)


@router.post(
    "/{fleet_id}/drivers",
    response_model=DriverOut,
    status_code=201,
    responses={**NOT_FOUND, **documented(400)},
)
def create_driver(fleet_id: ObjectId, body: DriverIn, principal: Caller, db: DB) -> dict:
    return service.create_driver(db, principal, fleet_id, body.model_dump())


@router.get("/{fleet_id}/history", response_model=list[AuditOut], responses=NOT_FOUND)
def customer_history(fleet_id: ObjectId, principal: Caller, db: DB) -> list[dict]:
    return service.customer_history(db, principal, fleet_id)
