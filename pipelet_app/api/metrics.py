"""`GET /api/v1/metrics`: Prometheus text of the whole installation, for an admin API key only.

Why the web app serves the CSMS's and the workers' metrics too: Prometheus then needs one target and one
credential, and nothing but the web port is exposed. Sources, each sample labelled `process`:
- `web`: this process (embedded: also the pollers and the other lifespan jobs);
- embedded: `csms`, read from the CSMS on this host over its loopback metrics path;
- scale-out (REDIS_URL): every CSMS node (`csms:<node id>`) and worker (`worker:<host>:<pid>`) from
  the snapshot each writes to Redis every 15 s, plus the depth of the arq job queue.
`pipelet_metrics_source_up{process}` says which sources were read. A browser's session cookie is not
enough: metrics are for machines, and an admin's key can be revoked on its own.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import Response

from pipelet_app import metrics
from pipelet_app.api.deps import Caller
from pipelet_app.api.errors import KEYED
from pipelet_app.auth import NotAuthenticated, Role, require
from pipelet_app.ocpp.commands import local_node_metrics
from pipelet_app.settings import get_settings

router = APIRouter(tags=["metrics"])
log = logging.getLogger("pipelet.metrics")


async def _queue_depth(redis_url: str) -> None:
    import redis.asyncio as aioredis

    from pipelet_app.queues import QUEUE_NAME

    client = aioredis.Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        metrics.QUEUE_DEPTH.labels("jobs").set(await client.zcard(QUEUE_NAME))
    finally:
        await client.aclose()


@router.get(
    "/metrics",
    response_class=Response,
    responses={**KEYED, 200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics_text(
    principal: Caller, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Response:
    """Every process's metrics in the Prometheus text format (admin API key)."""
    if not authorization:
        raise NotAuthenticated("metrics: send an admin API key (Authorization: Bearer <key>)")
    require(principal, Role.ADMIN)
    sources: dict[str, str] = {}
    redis_url = get_settings().redis_url
    if redis_url:
        try:
            await _queue_depth(redis_url)
            sources.update(await metrics.read_snapshots(redis_url))
        except Exception as exc:  # Redis down: still answer with what this process knows
            log.warning("metrics from Redis unavailable: %s", exc)
    elif (csms := await local_node_metrics()) is not None:
        sources["csms"] = csms
    metrics.SOURCE_UP.labels("web").set(1)
    for process in sources:
        metrics.SOURCE_UP.labels(process).set(1)
    if not redis_url and "csms" not in sources:
        metrics.SOURCE_UP.labels("csms").set(0)
    sources = {"web": metrics.render().decode(), **sources}
    return Response(metrics.merge(sources), media_type=metrics.CONTENT_TYPE)
