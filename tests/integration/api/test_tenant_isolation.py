"""The tenant-isolation matrix: every operator route on another tenant's object answers exactly like a
missing one (404), and other roles are refused (403). Add each new operator route here.

One test per backend walks the whole matrix (seeding the demo once), and names the route that leaks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from pipelet_app.api import build_api
from pipelet_app.db import session_scope
from pipelet_app.ocpp.chargers import register_charger
from tests.integration.api.onboarding_helpers import NORTH, SONNEN, driver_of, fleet_id, key_of, site_of


@pytest.fixture
def client(demo: dict) -> Iterator[TestClient]:
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        yield test_client


def _network_of(email: str) -> int:
    """A network account of the operator's tenant (stored directly: no network is called here)."""
    from sqlmodel import select

    from pipelet_app.auth import Principal
    from pipelet_app.db.models import NetworkAccount, User
    from pipelet_app.services.networks import save_account

    with session_scope() as db:
        user = db.exec(select(User).where(User.email == email)).one()
        found = db.exec(select(NetworkAccount).where(NetworkAccount.tenant_id == user.tenant_id)).first()
        if found is not None:
            return int(found.id or 0)
        return int(save_account(db, Principal.of(user), "helios", "iso", {"api_key": "k"})["id"])


def _matrix(site: int, fleet: int, token: str) -> list[tuple[str, str, dict | None]]:
    """(method, path, body) on Sonnenstrom's objects."""
    cp = "SON-CP-001"
    net = _network_of(SONNEN)
    return [
        ("GET", f"/api/v1/networks/{net}", None),
        ("GET", f"/api/v1/networks/{net}/chargers", None),
        ("GET", f"/api/v1/networks/{net}/sessions", None),
        ("POST", f"/api/v1/networks/{net}/sync", None),
        ("PUT", f"/api/v1/networks/{net}/credentials", {"credentials": {"api_key": "x"}}),
        ("DELETE", f"/api/v1/networks/{net}", None),
        ("GET", f"/api/v1/sites/{site}", None),
        ("PATCH", f"/api/v1/sites/{site}", {"name": "x"}),
        ("GET", f"/api/v1/sites/{site}/history", None),
        ("GET", f"/api/v1/sites/{site}/health", None),
        ("GET", f"/api/v1/chargers/{cp}/health", None),
        ("GET", f"/api/v1/chargers/{cp}/faults", None),
        ("GET", f"/api/v1/chargers/{cp}", None),
        ("PATCH", f"/api/v1/chargers/{cp}", {"name": "x"}),
        ("PUT", f"/api/v1/chargers/{cp}/security-profile", {"security_profile": 1}),
        ("POST", f"/api/v1/chargers/{cp}/retire", None),
        ("GET", f"/api/v1/chargers/{cp}/firmware", None),
        ("GET", f"/api/v1/chargers/{cp}/history", None),
        ("POST", f"/api/v1/chargers/{cp}/password", None),
        ("GET", f"/api/v1/id-tokens/{token}", None),
        ("PATCH", f"/api/v1/id-tokens/{token}", {"blocked": True}),
        ("POST", f"/api/v1/id-tokens/{token}/expire", None),
        ("GET", f"/api/v1/id-tokens/{token}/history", None),
        ("DELETE", f"/api/v1/id-tokens/{token}", None),
        ("GET", f"/api/v1/fleet-customers/{fleet}/drivers", None),
        ("POST", f"/api/v1/fleet-customers/{fleet}/drivers", {"name": "x"}),
        ("GET", f"/api/v1/fleet-customers/{fleet}/history", None),
    ]


ROLE_ONLY = [  # routes without an object in the path: other roles get 403
    ("GET", "/api/v1/id-tokens", None),
    ("POST", "/api/v1/id-tokens", {"token": "ROLE-TEST"}),
    ("GET", "/api/v1/fleet-customers", None),
    ("POST", "/api/v1/fleet-customers", {"name": "x"}),
    ("GET", "/api/v1/reports/portfolio", None),
    ("GET", "/api/v1/reports/portfolio/sessions", None),
    ("GET", "/api/v1/reports/portfolio.csv", None),
    ("GET", "/api/v1/reports/portfolio.pdf", None),
    ("GET", "/api/v1/networks", None),
    ("GET", "/api/v1/networks/types", None),
    ("POST", "/api/v1/networks", {"network": "helios", "credentials": {"api_key": "x"}}),
]


def test_another_tenants_objects_read_as_missing(client: TestClient) -> None:
    site, fleet = site_of(SONNEN), fleet_id("acme")
    owner = key_of(SONNEN)
    assert client.post("/api/v1/id-tokens", json={"token": "ISO-1"}, headers=owner).status_code == 201
    intruder = key_of(NORTH)
    leaks = []
    for method, path, body in _matrix(site, fleet, "ISO-1"):
        foreign = client.request(method, path, json=body, headers=intruder)
        missing = client.request(
            method,
            path.replace("SON-CP-001", "NO-SUCH-CP")
            .replace("ISO-1", "NO-SUCH")
            .replace(f"/sites/{site}", "/sites/999999")
            .replace(f"/fleet-customers/{fleet}", "/fleet-customers/999999")
            .replace(f"/networks/{_network_of(SONNEN)}", "/networks/999999"),
            json=body,
            headers=intruder,
        )
        if foreign.status_code != 404 or foreign.json() != missing.json():
            leaks.append((method, path, foreign.status_code, foreign.text[:120]))
    assert leaks == []
    # ... and nothing changed: the owner still sees the token unblocked and the charger unretired
    assert client.get("/api/v1/id-tokens/ISO-1", headers=owner).json()["blocked"] is False
    assert client.get("/api/v1/chargers/SON-CP-001", headers=owner).json()["retired_utc"] is None
    assert client.get(f"/api/v1/networks/{_network_of(SONNEN)}", headers=owner).status_code == 200


def test_object_references_in_bodies_stay_in_the_tenant(client: TestClient) -> None:
    intruder = key_of(NORTH)
    with session_scope() as db:
        register_charger(db, "ISO-UNCLAIMED")
    checks = [
        ("POST", "/api/v1/chargers/ISO-UNCLAIMED/claim", {"site_id": site_of(SONNEN)}, 404),
        ("POST", "/api/v1/id-tokens", {"token": "ISO-2", "driver_id": driver_of("acme")}, 422),
        ("PATCH", "/api/v1/chargers/NW-CP-001", {"site_id": site_of(SONNEN)}, 422),
    ]
    for method, path, body, status in checks:
        answer = client.request(method, path, json=body, headers=intruder)
        assert answer.status_code == status, (path, answer.text)


@pytest.mark.parametrize("email", ["fleet@acme.demo", "driver@acme.demo", "investor@pipelet.demo"])
def test_other_roles_are_refused(client: TestClient, email: str) -> None:
    key = key_of(email)
    routes = _matrix(site_of(SONNEN), fleet_id("acme"), "ACME0001") + ROLE_ONLY
    allowed = [(m, p) for m, p, b in routes if client.request(m, p, json=b, headers=key).status_code != 403]
    assert allowed == []
