"""`POST /api/v1/chargers/{id}/commands/{name}`: the operator's API answers with the charger's own response,
409 when it is offline, 504 when it does not answer, 404 for another tenant's charger."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from csms_helpers import add_charger, add_tenant, url_of
from rawcp import RawChargePoint

from pipelet_app.api import build_api
from pipelet_app.auth.api_keys import create_api_key
from pipelet_app.db import session_scope
from pipelet_app.db.models import Role, User
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.settings import get_settings


def operator_key(tenant_id: int, email: str) -> dict[str, str]:
    with session_scope() as db:
        user = User(email=email, role=Role.OPERATOR, tenant_id=tenant_id)
        db.add(user)
        db.flush()
        return {"Authorization": f"Bearer {create_api_key(db, user)[1]}"}


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as client:
        yield client


async def test_command_answers_with_the_chargers_response(csms: CsmsServer, api: httpx.AsyncClient) -> None:
    mine, other = add_tenant("op"), add_tenant("other-op")
    add_charger("CP-API", tenant_id=mine, password="cp-password-1")
    add_charger("CP-FOREIGN", tenant_id=other)
    headers = operator_key(mine, "ops@op.test")
    async with RawChargePoint(url_of(csms), "CP-API", password="cp-password-1") as cp:
        await cp.boot16()
        received: list[dict] = []
        cp.responders["ChangeConfiguration"] = lambda payload: (
            received.append(payload) or {"status": "Rejected"}
        )
        response = await api.post(
            "/api/v1/chargers/CP-API/commands/change-configuration",
            json={"key": "HeartbeatInterval", "value": "120"},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        assert response.json() == {
            "charge_point_id": "CP-API",
            "command": "change-configuration",
            "response": {"status": "Rejected"},
        }
        assert received == [{"key": "HeartbeatInterval", "value": "120"}]

        bad = await api.post(
            "/api/v1/chargers/CP-API/commands/change-configuration", json={"key": 5}, headers=headers
        )
        assert bad.status_code == 422

        foreign = await api.post(
            "/api/v1/chargers/CP-FOREIGN/commands/reset", json={"type": "Soft"}, headers=headers
        )
        missing = await api.post(
            "/api/v1/chargers/CP-NOPE/commands/reset", json={"type": "Soft"}, headers=headers
        )
        assert foreign.status_code == missing.status_code == 404
        assert foreign.json() == missing.json(), "another tenant's charger looks exactly like a missing one"


async def test_offline_is_409_and_silence_is_504(
    csms: CsmsServer, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = add_tenant("op")
    add_charger("CP-QUIET", tenant_id=tenant, password="cp-password-2")
    headers = operator_key(tenant, "ops2@op.test")
    offline = await api.post(
        "/api/v1/chargers/CP-QUIET/commands/reset", json={"type": "Soft"}, headers=headers
    )
    assert offline.status_code == 409

    monkeypatch.setenv("CSMS_COMMAND_TIMEOUT_S", "1")
    get_settings.cache_clear()
    async with RawChargePoint(url_of(csms), "CP-QUIET", password="cp-password-2") as cp:
        await cp.boot16()
        # no responder for Reset: the charge point keeps the call and never answers
        silent = await api.post(
            "/api/v1/chargers/CP-QUIET/commands/reset", json={"type": "Soft"}, headers=headers
        )
    assert silent.status_code == 504, silent.text


async def test_drivers_may_not_command(csms: CsmsServer, api: httpx.AsyncClient) -> None:
    tenant = add_tenant("fleet-x")
    with session_scope() as db:
        user = User(email="d@x.test", role=Role.DRIVER, tenant_id=tenant)
        db.add(user)
        db.flush()
        headers = {"Authorization": f"Bearer {create_api_key(db, user)[1]}"}
    response = await api.post("/api/v1/chargers/ANY/commands/reset", json={"type": "Soft"}, headers=headers)
    assert response.status_code == 403
