"""Prometheus metrics of a real CSMS (raw OCPP over a real socket), read the way the web app reads them:
its loopback metrics path, then `GET /api/v1/metrics` with an admin key (and refused without one)."""

from __future__ import annotations

import httpx
import pytest
from csms_helpers import add_charger, url_of
from prometheus_client.parser import text_string_to_metric_families
from rawcp import RawChargePoint

from pipelet_app.api import build_api
from pipelet_app.auth.api_keys import create_api_key
from pipelet_app.db import session_scope
from pipelet_app.db.models import Role, User
from pipelet_app.ocpp.commands import local_node_metrics
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.settings import get_settings


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def csms_port(csms: CsmsServer, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("CSMS_PORT", str(csms.port))
    get_settings.cache_clear()
    return csms.port


def api_key(role: Role, email: str) -> str:
    with session_scope() as db:
        user = User(email=email, name=email, role=role)
        db.add(user)
        db.flush()
        return create_api_key(db, user, "metrics")[1]


async def test_csms_counts_connections_calls_latency_and_errors(csms: CsmsServer, csms_port: int) -> None:
    before = await local_node_metrics()
    assert before is not None
    add_charger("CP-METRICS")
    async with RawChargePoint(url_of(csms), "CP-METRICS") as cp:
        await cp.boot16()
        for _ in range(3):
            await cp.ok("Heartbeat", {})
        refused = await cp.call("NoSuchAction", {})
        assert refused[0] == 4
        during = await local_node_metrics()
    after = await local_node_metrics()
    assert during is not None and after is not None
    assert value(during, "pipelet_csms_connections", ocpp_version="1.6") == (
        value(before, "pipelet_csms_connections", ocpp_version="1.6") + 1
    )
    assert value(after, "pipelet_csms_connections", ocpp_version="1.6") == value(
        before, "pipelet_csms_connections", ocpp_version="1.6"
    )
    heartbeats = value(during, "pipelet_csms_calls_total", action="Heartbeat")
    assert heartbeats - value(before, "pipelet_csms_calls_total", action="Heartbeat") == 3
    assert value(during, "pipelet_csms_call_seconds_count", action="Heartbeat") == heartbeats
    assert value(during, "pipelet_csms_call_seconds_bucket", action="Heartbeat", le="+Inf") == heartbeats
    errors = value(during, "pipelet_csms_errors_total", action="other", code="NotImplemented")
    assert errors - value(before, "pipelet_csms_errors_total", action="other", code="NotImplemented") == 1
    assert "NoSuchAction" not in during, "a charger's made-up action never becomes a label"


async def test_metrics_path_wants_loopback_and_the_token(csms: CsmsServer) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{csms.port}/internal/metrics")
        forged = await client.get(
            f"http://127.0.0.1:{csms.port}/internal/metrics", headers={"X-Pipelet-Token": "guess"}
        )
    assert answer.status_code == forged.status_code == 403


async def test_api_serves_web_and_csms_metrics_to_an_admin_key_only(csms: CsmsServer, csms_port: int) -> None:
    admin, operator = api_key(Role.ADMIN, "ops@example.com"), api_key(Role.OPERATOR, "op@example.com")
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
        nobody = await client.get("/api/v1/metrics")
        wrong_role = await client.get("/api/v1/metrics", headers={"Authorization": f"Bearer {operator}"})
        answer = await client.get("/api/v1/metrics", headers={"Authorization": f"Bearer {admin}"})
    assert (nobody.status_code, wrong_role.status_code) == (401, 403)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert value(text, "pipelet_metrics_source_up", process="web") == 1
    names = {name for name, _ in samples(text)}
    assert "pipelet_csms_connections" in names, "the CSMS's own metrics, read over loopback"
    processes = {dict(labels).get("process") for _, labels in samples(text)}
    assert {"web", "csms"} <= processes
