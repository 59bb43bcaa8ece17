"""`/api/v1/diagnostics`: the system-health report for admins, and the same as a download with every
secret redacted (operations.diagnostics)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from pipelet_app.api.deps import Caller
from pipelet_app.api.errors import KEYED
from pipelet_app.clock import utcnow
from pipelet_app.operations import diagnostics

router = APIRouter(prefix="/diagnostics", tags=["diagnostics"])


@router.get("", responses=KEYED)
async def report(principal: Caller) -> dict[str, Any]:
    """Database, Redis, CSMS nodes and their sockets, workers and the job queue, the last successful
    poll per integration, versions and settings (secrets redacted). Admins only."""
    return await diagnostics.gather(principal)


@router.get(
    "/download",
    response_class=Response,
    responses={**KEYED, 200: {"content": {"application/json": {}}, "description": "The report as a file"}},
)
async def download(principal: Caller) -> Response:
    """The same report as a JSON file to attach to a support ticket: safe to share."""
    body = await diagnostics.gather(principal)
    name = f"pipelet-diagnostics-{utcnow():%Y%m%dT%H%M%SZ}.json"
    return Response(
        json.dumps(body, indent=2, default=str),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
