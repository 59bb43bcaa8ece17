"""`GET /api/v1/me`: who the key belongs to (lets partner systems check their setup)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from pipelet_app.api.deps import Caller
from pipelet_app.api.errors import documented

router = APIRouter(tags=["account"])


class Me(BaseModel):
    user_id: int
    email: str
    role: str
    tenant_id: int | None


@router.get("/me", response_model=Me, responses=documented(401, 429))
def me(principal: Caller) -> Me:
    return Me(
        user_id=principal.user_id,
        email=principal.email,
        role=principal.role.value,
        tenant_id=principal.tenant_id,
    )
