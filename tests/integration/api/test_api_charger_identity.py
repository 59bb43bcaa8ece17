"""`POST /chargers/{id}/claim`, `POST /chargers/{id}/password` and `PUT /chargers/{id}/auth-mode` on
SQLite and PostgreSQL: operators only, their own tenant only, passwords shown once and stored hashed,
every change audited."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.auth.secrets import verify_password
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, SecurityEvent, Site, User
from pipelet_app.ocpp.admission import Admission
from pipelet_app.ocpp.chargers import register_charger
from tests.integration.api_keys import key_of


def site_of(tenant_slug_email: str) -> int:
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == tenant_slug_email)).one()
        site = db.exec(select(Site).where(Site.tenant_id == user.tenant_id)).first()
        assert site is not None and site.id is not None
        return site.id


def charger(cp_id: str) -> Charger:
    with session_scope() as db:
        return db.exec(select(Charger).where(Charger.charge_point_id == cp_id)).one()


def events(cp_id: str) -> list[tuple[str, str]]:
    with session_scope() as db:
        rows = db.exec(select(SecurityEvent).where(SecurityEvent.charge_point_id == cp_id)).all()
        return [(r.event_type, r.tech_info or "") for r in rows]


def admitted(cp_id: str, password: str | None) -> str:
    admission = Admission(auto_register=False)
    admission.refresh()
    credentials = (cp_id, password) if password is not None else None
    return asyncio.run(admission.admit(cp_id, credentials, "test")).kind


def test_claim_takes_an_unclaimed_charger_with_a_password_shown_once(client: TestClient) -> None:
    with session_scope() as db:
        register_charger(db, "AUTO-REG-1")
    assert admitted("AUTO-REG-1", None) == "ok"  # unclaimed: in, but trusted with no token
    operator = key_of("operator@sonnenstrom.demo")
    site_id = site_of("operator@sonnenstrom.demo")
    answer = client.post("/api/v1/chargers/AUTO-REG-1/claim", json={"site_id": site_id}, headers=operator)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == "AUTO-REG-1" and body["site_id"] == site_id and len(body["password"]) >= 16
    row = charger("AUTO-REG-1")
    assert row.site_id == site_id and row.tenant_id is not None
    assert row.basic_auth_hash and body["password"] not in row.basic_auth_hash
    assert verify_password(row.basic_auth_hash, body["password"])
    assert admitted("AUTO-REG-1", None) == "unauthorized"
    assert admitted("AUTO-REG-1", body["password"]) == "ok"
    claimed = [info for event, info in events("AUTO-REG-1") if event == "ChargerClaimed"]
    assert len(claimed) == 1 and "operator@sonnenstrom.demo" in claimed[0]
    # Claiming again: your own charger is a conflict; another operator's is not found.
    again = client.post("/api/v1/chargers/AUTO-REG-1/claim", json={"site_id": site_id}, headers=operator)
    assert again.status_code == 409
    other = key_of("operator@northwind.demo")
    other_site = site_of("operator@northwind.demo")
    stolen = client.post("/api/v1/chargers/AUTO-REG-1/claim", json={"site_id": other_site}, headers=other)
    assert stolen.status_code == 404
    assert "password" not in stolen.text and charger("AUTO-REG-1").tenant_id == row.tenant_id


def test_claim_refuses_foreign_sites_other_roles_and_unknown_ids(client: TestClient) -> None:
    with session_scope() as db:
        register_charger(db, "AUTO-REG-2")
    operator = key_of("operator@sonnenstrom.demo")
    foreign_site = site_of("operator@northwind.demo")
    answer = client.post(
        "/api/v1/chargers/AUTO-REG-2/claim", json={"site_id": foreign_site}, headers=operator
    )
    assert answer.status_code == 404 and "site_id" in answer.json()["error"]["message"]
    fleet = key_of("fleet@acme.demo")
    site_id = site_of("operator@sonnenstrom.demo")
    assert (
        client.post("/api/v1/chargers/AUTO-REG-2/claim", json={"site_id": site_id}, headers=fleet).status_code
        == 403
    )
    assert (
        client.post("/api/v1/chargers/NOPE-1/claim", json={"site_id": site_id}, headers=operator).status_code
        == 404
    )
    assert client.post("/api/v1/chargers/AUTO-REG-2/claim", json={}, headers=operator).status_code == 422
    assert charger("AUTO-REG-2").tenant_id is None


def test_rotate_gives_a_new_password_once_and_the_old_one_stops_working(client: TestClient) -> None:
    operator = key_of("operator@sonnenstrom.demo")
    first = client.post("/api/v1/chargers/SON-CP-002/password", headers=operator)
    assert first.status_code == 200, first.text
    second = client.post("/api/v1/chargers/SON-CP-002/password", headers=operator)
    old, new = first.json()["password"], second.json()["password"]
    assert old != new
    assert admitted("SON-CP-002", old) == "unauthorized"
    assert admitted("SON-CP-002", new) == "ok"
    assert [e for e, _ in events("SON-CP-002")].count("BasicAuthPasswordRotated") == 2
    other = key_of("operator@northwind.demo")
    assert client.post("/api/v1/chargers/SON-CP-002/password", headers=other).status_code == 404
    assert (
        client.post("/api/v1/chargers/SON-CP-002/password", headers=key_of("fleet@acme.demo")).status_code
        == 403
    )
    assert admitted("SON-CP-002", new) == "ok"


def test_auth_mode_none_is_an_explicit_audited_choice(client: TestClient) -> None:
    operator = key_of("operator@sonnenstrom.demo")
    assert client.get("/api/v1/chargers/SON-CP-003", headers=operator).json()["auth_mode"] == "basic"
    assert admitted("SON-CP-003", None) == "unauthorized"
    bad = client.put("/api/v1/chargers/SON-CP-003/auth-mode", json={"auth_mode": "open"}, headers=operator)
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("auth_mode")
    answer = client.put("/api/v1/chargers/SON-CP-003/auth-mode", json={"auth_mode": "none"}, headers=operator)
    assert answer.json() == {"id": "SON-CP-003", "auth_mode": "none"}
    assert admitted("SON-CP-003", None) == "ok"
    assert "AuthModeChanged" in [e for e, _ in events("SON-CP-003")]
    other = key_of("operator@northwind.demo")
    foreign = client.put("/api/v1/chargers/SON-CP-003/auth-mode", json={"auth_mode": "basic"}, headers=other)
    assert foreign.status_code == 404
    client.put("/api/v1/chargers/SON-CP-003/auth-mode", json={"auth_mode": "basic"}, headers=operator)
    assert admitted("SON-CP-003", None) == "unauthorized"


def test_an_operator_creates_a_charger_with_a_password_shown_once(client: TestClient) -> None:
    operator = key_of("operator@sonnenstrom.demo")
    site_id = site_of("operator@sonnenstrom.demo")
    body = {"charge_point_id": "SON-NEW-1", "site_id": site_id}
    created = client.post("/api/v1/chargers", json=body, headers=operator)
    assert created.status_code == 201, created.text
    password = created.json()["password"]
    assert created.json()["id"] == "SON-NEW-1" and created.json()["site_id"] == site_id
    row = charger("SON-NEW-1")
    assert row.auth_mode == "basic" and verify_password(row.basic_auth_hash, password)
    assert admitted("SON-NEW-1", None) == "unauthorized"
    assert admitted("SON-NEW-1", password) == "ok"
    assert "ChargerCreated" in [e for e, _ in events("SON-NEW-1")]
    assert client.post("/api/v1/chargers", json=body, headers=operator).status_code == 409
    other = key_of("operator@northwind.demo")
    taken = {"charge_point_id": "SON-NEW-1", "site_id": site_of("operator@northwind.demo")}
    assert client.post("/api/v1/chargers", json=taken, headers=other).status_code == 409
    foreign_site = {"charge_point_id": "SON-NEW-2", "site_id": site_of("operator@northwind.demo")}
    assert client.post("/api/v1/chargers", json=foreign_site, headers=operator).status_code == 404
    formula = {"charge_point_id": '=HYPERLINK("x")', "site_id": site_id}
    refused = client.post("/api/v1/chargers", json=formula, headers=operator)
    assert refused.status_code == 422 and refused.json()["error"]["message"].startswith("charge_point_id")
    fleet = key_of("fleet@acme.demo")
    assert client.post("/api/v1/chargers", json=foreign_site, headers=fleet).status_code == 403
