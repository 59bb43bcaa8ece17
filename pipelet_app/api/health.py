"""`GET /api/v1/health`: is the database reachable, which version runs. No key needed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from pipelet_app import __version__
from pipelet_app.api.deps import DB
from pipelet_app.services.session import ping

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str
    version: str


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "Database unreachable"}},
)
def health(db: DB) -> JSONResponse:
    try:
        ping(db)
        database = "ok"
    except Exception as exc:  # the point of the route is to report, not raise
        database = f"unreachable: {type(exc).__name__}"
    ok = database == "ok"
    body = Health(status="ok" if ok else "degraded", database=database, version=__version__)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
