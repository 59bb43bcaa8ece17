"""`/api/v1/me/notifications`: which operator e-mails the caller gets (operations.notifications)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from pipelet_app.api.deps import DB, Caller
from pipelet_app.api.errors import KEYED, documented
from pipelet_app.operations import notifications as operations

router = APIRouter(prefix="/me/notifications", tags=["account"])


class SiteRef(BaseModel):
    id: int
    name: str


class NotificationsOut(BaseModel):
    faults: bool = Field(description="A connector fault that lasted 5 minutes")
    recoveries: bool = Field(description="A mailed fault is over (and stayed over for 5 minutes)")
    daily_digest: bool = Field(description="Yesterday at your sites, once a day at digest_hour")
    digest_hour: int = Field(ge=0, le=23)
    timezone: str | None = Field(description="The digest's zone; null = the zone of most of your sites")
    effective_timezone: str
    site_ids: list[int] = Field(description="Only these sites; empty = every site")
    sites: list[SiteRef] = Field(description="The sites you may choose from")


class NotificationsIn(BaseModel):
    """Only the fields sent change. Types are checked by the service (its messages name the field)."""

    model_config = ConfigDict(extra="forbid")

    faults: Any = None
    recoveries: Any = None
    daily_digest: Any = None
    digest_hour: Any = None
    timezone: Any = None
    site_ids: Any = None


@router.get("", response_model=NotificationsOut, responses=KEYED)
def get_notifications(principal: Caller, db: DB) -> dict:
    """The operator's subscription, or the defaults (faults and recoveries for every site, no digest)."""
    return operations.my_subscription(db, principal)


@router.put("", response_model=NotificationsOut, responses=documented(400, 401, 403, 422, 429))
def put_notifications(body: NotificationsIn, principal: Caller, db: DB) -> dict:
    """Change the subscription; everything is validated before anything is saved; audited."""
    return operations.set_my_subscription(db, principal, body.model_dump(exclude_unset=True))
