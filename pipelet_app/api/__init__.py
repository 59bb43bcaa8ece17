"""The HTTP API under `/api/v1`, mounted into the Reflex app through `api_transformer`."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from pipelet_app import __version__
from pipelet_app.api import (
    attention,
    browser_auth,
    chargers,
    diagnostics,
    fleet,
    fleet_customers,
    health,
    id_tokens,
    investors,
    me,
    metrics,
    networks,
    notifications,
    payments,
    pricing,
    reimbursement,
    reports,
    sessions,
    sites,
)
from pipelet_app.api.errors import RequestGuard, install_error_handlers

PREFIX = "/api/v1"


def build_api() -> FastAPI:
    api = FastAPI(
        title="Pipelet API",
        version=__version__,
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    v1 = APIRouter(prefix=PREFIX)
    for module in (
        health,
        diagnostics,
        me,
        notifications,
        metrics,
        attention,
        chargers,
        sites,
        sessions,
        pricing,
        payments,
        reports,
        fleet,
        fleet_customers,
        id_tokens,
        networks,
        reimbursement,
        investors,
    ):
        v1.include_router(module.router)
    api.include_router(v1)
    api.include_router(browser_auth.router)  # /auth/login, /auth/logout: the browser's cookie
    install_error_handlers(api)
    api.add_middleware(RequestGuard)
    return api
