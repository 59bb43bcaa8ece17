"""`/api/v1/sessions/{transaction_id}/preferences`: a driver's wishes for a running session (mode,
departure, energy). Thin over `services.surplus`, which checks that the session is the caller's own
(a fleet manager of the driver's fleet may read; anyone else gets 404)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from pipelet_app.api.deps import DB, Caller, TextId
from pipelet_app.api.errors import KEYED, documented
from pipelet_app.services import surplus as service

router = APIRouter(prefix="/sessions", tags=["sessions"])
NOT_FOUND = {**KEYED, **documented(404, not_found="No such session of yours")}


class PreferencesIn(BaseModel):
    """Only the fields given change; null clears one (the site's mode, the car's own needs apply)."""

    mode: Literal["pv-only", "pv-priority", "eco-plus"] | None = None
    departure_utc: datetime | None = Field(default=None, description="ISO 8601 with offset, in the future")
    energy_wh: float | None = Field(default=None, gt=0, le=200_000, description="Energy wanted, Wh")


class PreferencesOut(BaseModel):
    transaction_id: str
    running: bool
    mode: str | None
    departure_utc: datetime | None
    energy_wh: float | None


@router.get("/{transaction_id}/preferences", response_model=PreferencesOut, responses=NOT_FOUND)
def get_preferences(transaction_id: TextId, principal: Caller, db: DB) -> dict:
    return service.get_preferences(db, principal, transaction_id)


@router.put(
    "/{transaction_id}/preferences", response_model=PreferencesOut, responses={**NOT_FOUND, **documented(400)}
)
def put_preferences(transaction_id: TextId, body: PreferencesIn, principal: Caller, db: DB) -> dict:
    return service.set_preferences(db, principal, transaction_id, body.model_dump(exclude_unset=True))
