"""Onboarding without SQL (issue 14) on SQLite and PostgreSQL: site fields, charger name / network /
security profile / retirement / firmware history, fleet customers and drivers, id tokens with the CSV
import; every change in the object's audit trail."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.api import build_api
from pipelet_app.auth import Principal
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, IdToken, User
from pipelet_app.ocpp.admission import Admission
from pipelet_app.ocpp.authorization import authorize
from pipelet_app.ocpp.chargers import record_boot, register_charger
from tests.integration.api.onboarding_helpers import NORTH, SONNEN, driver_of, key_of, site_of


@pytest.fixture
def client(demo: dict) -> Iterator[TestClient]:
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        yield test_client


def test_site_fields_are_created_changed_and_audited(client: TestClient) -> None:
    op = key_of(SONNEN)
    body = {
        "name": "Hafen Nord",
        "timezone": "Europe/Berlin",
        "address": "Am Kai 1, 20457 Hamburg",
        "latitude": 53.54,
        "longitude": 9.98,
        "commissioning_date": "2026-11-02",
        "lifecycle_state": "commissioning",
    }
    created = client.post("/api/v1/sites", json=body, headers=op)
    assert created.status_code == 201, created.text
    site = created.json()
    assert (site["address"], site["commissioning_date"], site["lifecycle_state"]) == (
        "Am Kai 1, 20457 Hamburg",
        "2026-11-02",
        "commissioning",
    )
    assert site["spv_id"] is None
    changed = client.patch(
        f"/api/v1/sites/{site['id']}", json={"lifecycle_state": "operating", "name": "Hafen"}, headers=op
    )
    assert changed.status_code == 200 and changed.json()["lifecycle_state"] == "operating"
    trail = client.get(f"/api/v1/sites/{site['id']}/history", headers=op).json()
    assert [e["action"] for e in trail] == ["site.updated", "site.created"]
    assert trail[0]["actor"] == SONNEN
    assert trail[0]["changes"] == {
        "lifecycle_state": ["commissioning", "operating"],
        "name": ["Hafen Nord", "Hafen"],
    }
    assert trail[1]["changes"]["address"] == [None, "Am Kai 1, 20457 Hamburg"]


def test_site_bad_fields_name_the_field_and_save_nothing(client: TestClient) -> None:
    op = key_of(SONNEN)
    site_id = site_of(SONNEN)
    for patch, field in (
        ({"lifecycle_state": "sold"}, "lifecycle_state"),
        ({"spv_id": 999_999}, "spv_id"),
        ({"commissioning_date": "2026-13-40"}, "commissioning_date"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ):
        answer = client.patch(f"/api/v1/sites/{site_id}", json=patch, headers=op)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["message"].startswith(field), answer.text
    assert client.get(f"/api/v1/sites/{site_id}/history", headers=op).json() == []


def test_site_spv_must_be_the_operators_own(client: TestClient, demo: dict) -> None:
    spv_id = demo["spvs"][0]["id"]  # sponsored by sonnenstrom
    own = client.patch(f"/api/v1/sites/{site_of(SONNEN)}", json={"spv_id": spv_id}, headers=key_of(SONNEN))
    assert own.status_code == 200 and own.json()["spv_id"] == spv_id
    other = client.patch(f"/api/v1/sites/{site_of(NORTH)}", json={"spv_id": spv_id}, headers=key_of(NORTH))
    assert other.status_code == 422 and other.json()["error"]["message"].startswith("spv_id")


def test_claim_rename_network_secure_retire_are_audited(client: TestClient) -> None:
    with session_scope() as db:
        register_charger(db, "NEW-CP-9")
    op = key_of(SONNEN)
    claimed = client.post("/api/v1/chargers/NEW-CP-9/claim", json={"site_id": site_of(SONNEN)}, headers=op)
    assert claimed.status_code == 200
    password = claimed.json()["password"]
    patched = client.patch(
        "/api/v1/chargers/NEW-CP-9", json={"name": "Gate 4", "network": "Helios"}, headers=op
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["network"]) == ("Gate 4", "helios")
    bad = client.patch("/api/v1/chargers/NEW-CP-9", json={"network": "Shell"}, headers=op)
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("network")
    no_tls = client.put(
        "/api/v1/chargers/NEW-CP-9/security-profile", json={"security_profile": 2}, headers=op
    )
    assert no_tls.status_code == 409 and "CSMS_TLS_CERT" in no_tls.json()["error"]["message"]
    bad = client.put("/api/v1/chargers/NEW-CP-9/security-profile", json={"security_profile": 4}, headers=op)
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("security_profile")
    one = client.put("/api/v1/chargers/NEW-CP-9/security-profile", json={"security_profile": 1}, headers=op)
    assert one.json()["security_profile"] == 1 and one.json()["auth_mode"] == "basic"
    client.put("/api/v1/chargers/NEW-CP-9/security-profile", json={"security_profile": 0}, headers=op)

    admission = Admission(auto_register=False)
    admission.refresh()
    assert asyncio.run(admission.admit("NEW-CP-9", ("NEW-CP-9", password), "test")).kind == "ok"
    retired = client.post("/api/v1/chargers/NEW-CP-9/retire", headers=op)
    assert retired.status_code == 200 and retired.json()["retired_utc"] is not None
    assert client.post("/api/v1/chargers/NEW-CP-9/retire", headers=op).status_code == 200
    admission = Admission(auto_register=False)
    admission.refresh()
    assert asyncio.run(admission.admit("NEW-CP-9", ("NEW-CP-9", password), "test")).kind != "ok"

    trail = client.get("/api/v1/chargers/NEW-CP-9/history", headers=op).json()
    actions = [e["action"] for e in reversed(trail)]
    assert actions == [
        "ChargerClaimed",
        "ChargerUpdated",
        "SecurityProfileChanged",
        "SecurityProfileChanged",
        "ChargerRetired",
    ]
    assert trail[-2]["changes"]["display_name"] == ["", "Gate 4"]
    assert password not in str(trail)


def test_firmware_history_records_each_new_version_once(client: TestClient) -> None:
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "SON-CP-001")).one()
        assert charger.id is not None
        for version in ("1.0", "1.0", "1.1", None, "1.1", "1.0"):
            boot = {"vendor": "ABB", "model": "Terra", "serial_number": None, "ocpp_version": "1.6"}
            record_boot(db, charger.id, firmware_version=version, **boot)
        db.commit()
    versions = client.get("/api/v1/chargers/SON-CP-001/firmware", headers=key_of(SONNEN)).json()
    assert [v["version"] for v in versions][:3] == ["1.0", "1.1", "1.0"]


def test_fleet_customers_and_drivers(client: TestClient) -> None:
    op = key_of(SONNEN)
    names = [c["name"] for c in client.get("/api/v1/fleet-customers", headers=op).json()]
    assert names == ["Acme Logistics"]  # Globex is Northwind's customer
    created = client.post("/api/v1/fleet-customers", json={"name": "Bäckerei Huber"}, headers=op)
    assert created.status_code == 201, created.text
    fleet = created.json()
    assert fleet["drivers"] == 0 and fleet["slug"] == "b-ckerei-huber"
    twice = client.post("/api/v1/fleet-customers", json={"name": "bäckerei huber"}, headers=op)
    assert twice.status_code == 422 and twice.json()["error"]["message"].startswith("name")
    driver = client.post(
        f"/api/v1/fleet-customers/{fleet['id']}/drivers",
        json={"name": "Hans", "email": "hans@x.de"},
        headers=op,
    )
    assert driver.status_code == 201
    bad = client.post(
        f"/api/v1/fleet-customers/{fleet['id']}/drivers", json={"name": "X", "email": "nope"}, headers=op
    )
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("email")
    drivers = client.get(f"/api/v1/fleet-customers/{fleet['id']}/drivers", headers=op).json()
    assert [d["name"] for d in drivers] == ["Hans"]
    trail = client.get(f"/api/v1/fleet-customers/{fleet['id']}/history", headers=op).json()
    assert [e["action"] for e in trail] == ["DriverCreated", "FleetCustomerCreated"]


def test_id_token_lifecycle_reaches_the_csms(client: TestClient) -> None:
    op = key_of(SONNEN)
    driver = driver_of("acme")
    issued = client.post("/api/v1/id-tokens", json={"token": "CARD-0042", "driver_id": driver}, headers=op)
    assert issued.status_code == 201, issued.text
    assert issued.json()["status"] == "Accepted" and issued.json()["driver_name"]
    for spelling in ("CARD-0042", "card-0042"):
        clash = client.post("/api/v1/id-tokens", json={"token": spelling}, headers=op)
        assert clash.status_code == 409
    other = client.post("/api/v1/id-tokens", json={"token": "card-0042"}, headers=key_of(NORTH))
    assert other.status_code == 409 and "sonnen" not in other.text.lower()
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "SON-CP-001")).one()
        assert authorize(db, charger.id, "CARD-0042").status == "Accepted"  # type: ignore[arg-type]
    blocked = client.patch("/api/v1/id-tokens/card-0042", json={"blocked": True}, headers=op)
    assert blocked.json()["status"] == "Blocked"
    with session_scope() as db:
        assert authorize(db, charger.id, "CARD-0042").status == "Blocked"  # type: ignore[arg-type]
    client.patch("/api/v1/id-tokens/CARD-0042", json={"blocked": False}, headers=op)
    expired = client.post("/api/v1/id-tokens/CARD-0042/expire", headers=op)
    assert expired.json()["status"] == "Expired"
    with session_scope() as db:
        assert authorize(db, charger.id, "CARD-0042").status == "Expired"  # type: ignore[arg-type]
    foreign_driver = client.patch(
        "/api/v1/id-tokens/CARD-0042", json={"driver_id": driver_of("globex")}, headers=op
    )
    assert foreign_driver.status_code == 422 and foreign_driver.json()["error"]["message"].startswith(
        "driver_id"
    )
    unassigned = client.patch("/api/v1/id-tokens/CARD-0042", json={"driver_id": None}, headers=op)
    assert unassigned.json()["driver_id"] is None
    trail = client.get("/api/v1/id-tokens/CARD-0042/history", headers=op).json()
    assert [e["action"] for e in trail] == ["IdTokenUpdated"] * 4 + ["IdTokenIssued"]
    assert trail[0]["changes"] == {"driver_id": [driver, None]}
    assert client.delete("/api/v1/id-tokens/CARD-0042", headers=op).status_code == 204
    assert client.get("/api/v1/id-tokens/CARD-0042", headers=op).status_code == 404


def test_bad_tokens_are_refused_naming_the_field(client: TestClient) -> None:
    op = key_of(SONNEN)
    for body, field in (
        ({"token": "=HYPERLINK(1)"}, "token"),
        ({"token": "x" * 37}, "token"),
        ({"token": "OK1", "type": "Barcode"}, "type"),
        ({"token": "OK1", "expires_utc": "2027-01-01T00:00:00"}, "expires_utc"),
        ({"token": "OK1", "driver_id": 999_999}, "driver_id"),
    ):
        answer = client.post("/api/v1/id-tokens", json=body, headers=op)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"]["message"].startswith(field), answer.text
    assert client.get("/api/v1/id-tokens/OK1", headers=op).status_code == 404


CSV = """token,type,driver_id,expires_utc,blocked
IMP-1,,{driver},2027-06-30T00:00:00Z,
IMP-2,Central,,,true
imp-1,,,,
=cmd|' /C calc'!A0,,,,
IMP-3,ISO14443,999999,,
IMP-4,,,not-a-date,
IMP-5,,,,maybe
ACME0001,,,,
SONNEN-TOKEN-X,,,,
"""


def test_csv_import_row_by_row_idempotent(client: TestClient) -> None:
    op = key_of(SONNEN)
    client.post("/api/v1/id-tokens", json={"token": "GLOBEX-ONLY"}, headers=key_of(NORTH))
    text = CSV.format(driver=driver_of("acme")) + "globex-only,,,,\n"
    answer = client.post(
        "/api/v1/id-tokens/import", content=text.encode(), headers={**op, "content-type": "text/csv"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (3, 0, 1), body
    errors = {(e["row"], e["field"]) for e in body["errors"]}
    assert errors == {
        (4, "token"),
        (5, "token"),
        (6, "driver_id"),
        (7, "expires_utc"),
        (8, "blocked"),
        (11, "token"),
    }
    formula = next(e for e in body["errors"] if e["row"] == 5)
    assert formula["value"].startswith("'=")
    duplicate = next(e for e in body["errors"] if e["row"] == 4)
    assert "row 2" in duplicate["message"]
    assert "already issued" in next(e for e in body["errors"] if e["row"] == 11)["message"]
    again = client.post(
        "/api/v1/id-tokens/import", content=text.encode(), headers={**op, "content-type": "text/csv"}
    )
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 4)
    with session_scope() as db:
        imp = db.exec(select(IdToken).where(IdToken.token == "IMP-2")).one()
        assert imp.type == "Central" and imp.status == "Blocked"
        assert len(db.exec(select(IdToken).where(IdToken.token == "IMP-1")).all()) == 1
    headerless = client.post("/api/v1/id-tokens/import", content=b"a,b\n1,2\n", headers=op)
    assert headerless.status_code == 422 and headerless.json()["error"]["message"].startswith("token")


def test_a_site_without_a_time_zone_is_refused_naming_it(client: TestClient) -> None:
    """The issue's bad input: a site without a time zone is refused, nothing saved (it was created as a
    UTC site, shifting every local day of its reports and digests)."""
    from pipelet_app.auth import InvalidInput
    from pipelet_app.portals.operator.site_data import save_site

    op = key_of(SONNEN)
    before = client.get("/api/v1/sites", headers=op).json()
    for body in (
        {"name": "Ohne Zone"},
        {"name": "Ohne Zone", "timezone": ""},
        {"name": "x", "timezone": " "},
    ):
        answer = client.post("/api/v1/sites", json=body, headers=op)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["message"].startswith("timezone"), answer.text
    answer = client.patch(f"/api/v1/sites/{site_of(SONNEN)}", json={"timezone": ""}, headers=op)
    assert answer.status_code == 422 and answer.json()["error"]["message"].startswith("timezone"), answer.text
    # the page's form: an empty zone field is refused too (it became UTC), for a new site and an edit
    with session_scope() as db:
        operator = Principal.of(db.exec(select(User).where(User.email == "operator@sonnenstrom.demo")).one())
        for site_id in (None, site_of(SONNEN)):
            with pytest.raises(InvalidInput, match=r"^timezone: required"):
                save_site(db, operator, site_id, {"name": "Ohne Zone", "timezone": ""})
        db.rollback()
    assert client.get("/api/v1/sites", headers=op).json() == before
