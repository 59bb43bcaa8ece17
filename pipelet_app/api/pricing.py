"""Pricing: an operator's plans, a charger's plan and multiplier, a session's cost. Thin over
`services.pricing`, which checks role and tenant (another tenant's objects answer 404) and names the
field at fault. Amounts are decimal strings in the site's currency (docs/pricing.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from pipelet_app.api.deps import DB, Caller, RefId, TextId
from pipelet_app.api.errors import KEYED, documented
from pipelet_app.services import pricing as service

router = APIRouter(tags=["pricing"])
Money = str | int | float


class RateIn(BaseModel):
    per_kwh: Money = Field(default="0", description='Per kWh, e.g. "0.39"')
    per_hour: Money = Field(default="0", description="Per hour of charging (time-based rate)")


class WindowIn(BaseModel):
    label: str = Field(max_length=60, description="Printed on receipts, e.g. peak")
    rate: RateIn
    start: str = Field(description="Site wall-clock time HH:MM")
    end: str = Field(description="HH:MM; end <= start runs into the next day")
    weekdays: list[int] = Field(default=[0, 1, 2, 3, 4, 5, 6], description="0 = Monday")
    priority: int = Field(default=0, description="The highest wins where windows overlap")


class PlanIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    base: RateIn = Field(default_factory=RateIn)
    session_fee: Money = "0"
    idle_fee_per_minute: Money = "0"
    idle_grace_minutes: int = 0
    windows: list[WindowIn] = Field(default_factory=list, max_length=service.MAX_WINDOWS)


class PlanOut(BaseModel):
    id: int
    name: str
    base: dict[str, str]
    session_fee: str
    idle_fee_per_minute: str
    idle_grace_minutes: int
    windows: list[dict[str, Any]]


class ChargerPricingIn(BaseModel):
    plan_id: RefId | None = Field(description="A plan of your tenant; null = no pricing")
    multiplier: Money = Field(default="1", description='Scales every rate and fee, e.g. "1.1"')


class ChargerPricingOut(BaseModel):
    charge_point_id: str
    plan_id: int | None
    multiplier: str


class CostLine(BaseModel):
    label: str
    amount: str


class CostOut(BaseModel):
    total: str | None = Field(description="null when the charger has no plan or no register was read")
    currency: str
    final: bool = Field(description="false while the session runs (priced up to now)")
    lines: list[CostLine]


@router.get("/pricing/plans", response_model=list[PlanOut], responses=KEYED)
def list_plans(principal: Caller, db: DB) -> list[dict]:
    return service.list_plans(db, principal)


@router.post(
    "/pricing/plans", response_model=PlanOut, status_code=201, responses={**KEYED, **documented(400)}
)
def create_plan(body: PlanIn, principal: Caller, db: DB, response: Response) -> dict:
    plan = service.create_plan(db, principal, body.name, body.model_dump(exclude={"name"}))
    response.headers["Location"] = f"/api/v1/pricing/plans/{plan['id']}"
    return plan


@router.put(
    "/chargers/{charge_point_id}/pricing",
    response_model=ChargerPricingOut,
    responses={**KEYED, **documented(400, 404, not_found="No such charger in your tenant")},
)
def set_charger_pricing(charge_point_id: TextId, body: ChargerPricingIn, principal: Caller, db: DB) -> dict:
    return service.set_charger_pricing(db, principal, charge_point_id, body.plan_id, body.multiplier)


@router.get(
    "/sessions/{transaction_id}/cost",
    response_model=CostOut,
    responses={**KEYED, **documented(404, not_found="No such session at your chargers")},
)
def session_cost(transaction_id: TextId, principal: Caller, db: DB) -> dict:
    """The running or final price with its lines; the lines sum to `total`."""
    return service.session_cost(db, principal, transaction_id)
