"""`GET /api/v1/me`: who the key belongs to (lets partner systems check their setup)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from pipelet_app.api.deps import DB, Caller
from pipelet_app.api.errors import documented
from pipelet_app.services import driver_sessions

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


@router.get(
    "/me/sessions.csv",
    responses={
        **documented(401, 403, 422, 429),
        200: {"content": {"text/csv": {}}, "description": "The driver's own sessions in the period"},
    },
)
def my_sessions_csv(
    principal: Caller,
    db: DB,
    start: str = Query("", alias="from", description="first day, YYYY-MM-DD (UTC)"),
    end: str = Query("", alias="to", description="last day, YYYY-MM-DD (UTC), inclusive"),
) -> Response:
    """A driver's own sessions with solar share, for an expense claim (services.driver_sessions)."""
    return Response(
        driver_sessions.sessions_csv(db, principal, start, end),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="my-charging-sessions.csv"'},
    )
