"""Reimbursement: rates, drafts, approval, PDF and payroll export; public-session CSV import."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import ChargingSession, Driver, SessionSource
from pipelet_app.domain.reimbursement import SessionEnergy, compute_statement
from tests.integration.api_keys import key_of


@pytest.fixture
def month() -> str:
    """The demo seeds the last 28 days: the month of 14 days ago always holds at least 14 of them."""
    return (utcnow() - timedelta(days=14)).strftime("%Y-%m")


@pytest.mark.dates
def test_statement_lifecycle(client: TestClient, month: str) -> None:
    acme = key_of("fleet@acme.demo")
    assert client.get("/api/v1/fleet/reimbursement/rates", headers=acme).json()["rates"] == {
        "ocpp-wallbox": None,
        "pv-inverter": None,
        "public": None,
    }
    for source, rate in (("ocpp-wallbox", "0.30"), ("pv-inverter", "0.12")):
        response = client.put(
            f"/api/v1/fleet/reimbursement/rates/{source}", json={"rate_per_kwh": rate}, headers=acme
        )
        assert response.status_code == 200, response.text
    bad = client.put("/api/v1/fleet/reimbursement/rates/public", json={"rate_per_kwh": -1}, headers=acme)
    assert bad.status_code == 422 and "rate_per_kwh" in bad.json()["error"]["message"]

    drafts = client.post(
        "/api/v1/fleet/reimbursement/statements", params={"month": month}, headers=acme
    ).json()
    assert len(drafts) == 4 and all(s["status"] == "draft" for s in drafts)
    dana = next(s for s in drafts if s["session_count"] > 0)
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = (start + timedelta(days=32)).replace(day=1)
    with session_scope() as db:
        sessions = db.exec(
            select(ChargingSession).where(
                ChargingSession.driver_id == dana["driver_id"],
                ChargingSession.start_utc >= start,
                ChargingSession.start_utc < end,
            )
        ).all()
    expected = compute_statement(
        [SessionEnergy(str(s.source), s.energy_wh) for s in sessions],
        {"ocpp-wallbox": Decimal("0.30"), "pv-inverter": Decimal("0.12")},
    )
    assert Decimal(dana["total"]) == expected.total > 0
    assert dana["session_count"] == len(sessions)

    approved = client.post(f"/api/v1/fleet/reimbursement/statements/{dana['id']}/approve", headers=acme)
    assert approved.json()["status"] == "approved"
    again = client.post(f"/api/v1/fleet/reimbursement/statements/{dana['id']}/approve", headers=acme)
    assert again.status_code == 422 and again.json()["error"]["message"].startswith("status")

    pdf = client.get(f"/api/v1/fleet/reimbursement/statements/{dana['id']}.pdf", headers=acme)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    with session_scope() as db:
        name = db.get(Driver, dana["driver_id"]).name
    assert name in text and f"{Decimal(dana['total']):.2f}" in text and "APPROVED" in text.upper()

    exported = client.post("/api/v1/fleet/reimbursement/export", params={"month": month}, headers=acme)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["statement_id"] for r in rows} == {str(dana["id"])} and len(rows) == 3
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal(dana["total"])

    client.put("/api/v1/fleet/reimbursement/rates/public", json={"rate_per_kwh": "0.50"}, headers=acme)
    redone = client.post(
        "/api/v1/fleet/reimbursement/statements", params={"month": month}, headers=acme
    ).json()
    kept = next(s for s in redone if s["id"] == dana["id"])
    assert kept["status"] == "exported" and kept["total"] == dana["total"], "exported figures never change"


def test_other_fleets_statements_look_missing(client: TestClient, month: str) -> None:
    acme = key_of("fleet@acme.demo")
    statement = client.post(
        "/api/v1/fleet/reimbursement/statements", params={"month": month}, headers=acme
    ).json()[0]
    globex = key_of("fleet@globex.demo")
    for call in (
        lambda: client.post(
            f"/api/v1/fleet/reimbursement/statements/{statement['id']}/approve", headers=globex
        ),
        lambda: client.get(f"/api/v1/fleet/reimbursement/statements/{statement['id']}.pdf", headers=globex),
    ):
        response = call()
        assert response.status_code == 404 and response.json()["error"]["message"].startswith("statement_id")
    assert (
        client.post(
            "/api/v1/fleet/reimbursement/statements", params={"month": "2025-13"}, headers=acme
        ).status_code
        == 422
    )


CSV = """driver_email,start_utc,end_utc,energy_kwh,station_id,cost,currency,provider
driver@acme.demo,2025-03-01T10:00:00Z,2025-03-01T10:40:00Z,31.5,DE*ION*E1234,18.90,EUR,IONITY
driver@acme.demo,2025-03-02T08:00:00Z,,12,DE*EWE*E9,,,
driver@globex.demo,2025-03-03T08:00:00Z,,10,DE*EWE*E9,,,
stranger@nowhere.demo,2025-03-03T08:00:00Z,,10,X,,,
driver@acme.demo,not-a-time,,10,X,,,
"""


def test_public_csv_import_is_idempotent_and_reports_bad_rows(client: TestClient) -> None:
    acme = {**key_of("fleet@acme.demo"), "Content-Type": "text/csv"}
    first = client.post("/api/v1/fleet/imports/public-sessions", content=CSV.encode(), headers=acme).json()
    assert first["imported"] == 2 and first["already_imported"] == 0
    assert first["errors"] == [
        "line 4, driver_email: no driver driver@globex.demo in your fleet",
        "line 5, driver_email: no driver stranger@nowhere.demo in your fleet",
        "line 6, start_utc: 'not-a-time' is not an ISO 8601 time",
    ]
    second = client.post("/api/v1/fleet/imports/public-sessions", content=CSV.encode(), headers=acme).json()
    assert second["imported"] == 0 and second["already_imported"] == 2
    with session_scope() as db:
        imported = db.exec(select(ChargingSession).where(ChargingSession.reason == "imported")).all()
    assert len(imported) == 2 and {s.source for s in imported} == {SessionSource.PUBLIC}
    assert {s.id_tag for s in imported} == {"IONITY", "public"} and {s.energy_wh for s in imported} == {
        31_500,
        12_000,
    }


def test_csv_without_the_required_header_is_refused_whole(client: TestClient) -> None:
    acme = {**key_of("fleet@acme.demo"), "Content-Type": "text/csv"}
    response = client.post("/api/v1/fleet/imports/public-sessions", content=b"{}", headers=acme)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "body: line 1, driver_email: column missing from the header"
