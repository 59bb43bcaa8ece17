"""`/api/v1/attention`: what needs the operator's attention now (operations.attention)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from pipelet_app.api.deps import DB, Caller
from pipelet_app.api.errors import KEYED
from pipelet_app.operations import attention as operations

router = APIRouter(prefix="/attention", tags=["attention"])


class AttentionItem(BaseModel):
    kind: Literal["faulted", "offline", "flagged", "stuck", "overdue"]
    charge_point_id: str = Field(description="Empty for an overdue lifecycle step")
    site: str
    since_utc: datetime | None
    what: str
    link: str = Field(description="The console page where it is fixed")


class AttentionOut(BaseModel):
    counts: dict[str, int]
    items: list[AttentionItem]


@router.get("", response_model=AttentionOut, responses=KEYED)
def attention(principal: Caller, db: DB) -> dict:
    """Faulted connectors, offline chargers, sessions flagged for review, stuck sessions and overdue
    lifecycle steps (SPV steps, site commissioning), oldest first, each with the link to the page where
    it is fixed (at most 200 of each kind)."""
    return operations.attention(db, principal)
