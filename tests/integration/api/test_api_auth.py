"""The API shell: health, bearer keys, JSON errors, role and tenant checks."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pipelet_app.auth.api_keys import revoke_api_key
from pipelet_app.db import session_scope
from tests.integration.api_keys import bearer, key_for


def test_health_reports_database_and_version(client: TestClient) -> None:
    body = client.get("/api/v1/health").json()
    assert body == {"status": "ok", "database": "ok", "version": "0.1.0"}


def test_openapi_is_served(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/chargers/{charge_point_id}" in spec["paths"]


@pytest.mark.parametrize(
    "headers,message",
    [
        ({}, "Missing API key"),
        ({"Authorization": "Bearer nonsense"}, "Malformed API key"),
        ({"Authorization": "Bearer pk_abc_def"}, "Unknown API key"),
    ],
)
def test_missing_or_bad_key_is_401_json(client: TestClient, headers: dict, message: str) -> None:
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert message in response.json()["error"]["message"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_key_stops_working(client: TestClient) -> None:
    key = key_for("operator@sonnenstrom.demo")
    assert client.get("/api/v1/me", headers=bearer(key)).json()["role"] == "operator"
    with session_scope() as db:
        revoke_api_key(db, key.split("_")[1])
    response = client.get("/api/v1/me", headers=bearer(key))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key has been revoked."


def test_wrong_role_is_403(client: TestClient) -> None:
    response = client.get("/api/v1/chargers", headers=bearer(key_for("driver@acme.demo")))
    assert response.status_code == 403
    assert response.json()["error"]["status"] == 403


def test_operator_sees_own_chargers_and_not_the_others(client: TestClient) -> None:
    key = bearer(key_for("operator@sonnenstrom.demo"))
    listed = client.get("/api/v1/chargers", headers=key).json()
    assert [c["id"] for c in listed] == ["SON-CP-001", "SON-CP-002", "SON-CP-003"]
    assert [c["connector_id"] for c in listed[0]["connectors"]] == [1, 2]
    assert client.get("/api/v1/chargers/SON-CP-002", headers=key).json()["model"] == "Terra AC W22"
    foreign = client.get("/api/v1/chargers/NW-CP-001", headers=key)
    missing = client.get("/api/v1/chargers/NOPE", headers=key)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json(), "another tenant's charger must look exactly like a missing one"
