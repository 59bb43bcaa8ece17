"""Flagged OCPP sessions through the APIs on SQLite and PostgreSQL: the charger API and the Fleet API carry
`flags`; a session held for review counts in neither solar share nor reimbursement until its charger's
operator confirms or corrects it (`POST /api/v1/chargers/{id}/sessions/{tx}/review`), and nobody else can.

The session is written by the CSMS's own bookkeeping (ocpp.transactions), as a 40-second StopTransaction
of 299,763 Wh would leave it; the raw-socket path is in tests/integration/ocpp/test_csms_energy_integrity.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.api import build_api
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargingSession, Driver, Tenant, User
from pipelet_app.ocpp import transactions
from tests.integration.api_keys import key_of

CHARGER = "SON-CP-001"  # operator@sonnenstrom.demo's
# A month with no demo sessions, so the held session is the only one in it.
START = datetime(2001, 1, 15, 9, 0, tzinfo=UTC)
WINDOW = {"from": "2001-01-01T00:00:00Z", "to": "2001-02-01T00:00:00Z"}


@pytest.fixture
def held(demo: dict) -> tuple[str, int]:
    """(transaction id, driver id) of an impossible session of an Acme driver at the demo charger."""
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == CHARGER)).one()
        acme = db.exec(select(Tenant).where(Tenant.slug.contains("acme"))).first()  # type: ignore[attr-defined]
        assert acme is not None and charger.id is not None
        driver = db.exec(select(Driver).where(Driver.fleet_id == acme.id).order_by(Driver.id)).first()
        assert driver is not None and driver.id is not None
        session = transactions.start_transaction(
            db,
            charger.id,
            CHARGER,
            connector_id=1,
            id_tag="ACME0001",
            meter_start_wh=1_000,
            started_at=START,
            driver_id=driver.id,
            key=None,
            version="1.6",
        )
        transactions.stop_transaction(
            db, session, meter_stop_wh=300_763, stopped_at=START + timedelta(seconds=40), reason="Local"
        )
        return session.transaction_id, driver.id


@pytest.fixture
def client(held: tuple[str, int]) -> Iterator[TestClient]:
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        yield test_client


def driver_solar_total(client: TestClient, fleet: dict[str, str], driver_id: int) -> float:
    response = client.get("/api/v1/fleet/solar-share", params=WINDOW, headers=fleet)
    assert response.status_code == 200, response.text
    [row] = [d for d in response.json()["drivers"] if d["driver_id"] == driver_id]
    return row["total_wh"]


def statement_kwh(client: TestClient, fleet: dict[str, str], driver_id: int) -> Decimal:
    response = client.post(
        "/api/v1/fleet/reimbursement/statements", params={"month": "2001-01"}, headers=fleet
    )
    assert response.status_code == 200, response.text
    [statement] = [s for s in response.json() if s["driver_id"] == driver_id]
    return Decimal(str(statement["energy_kwh"]))


def test_held_session_is_shown_with_flags_and_counted_only_after_review(
    client: TestClient, held: tuple[str, int]
) -> None:
    tx, driver_id = held
    operator, fleet = key_of("operator@sonnenstrom.demo"), key_of("fleet@acme.demo")

    [row] = [
        s
        for s in client.get(f"/api/v1/chargers/{CHARGER}/sessions", headers=operator).json()
        if s["transaction_id"] == tx
    ]
    assert row["energy_wh"] == 299_763 and row["review_pending"] is True
    assert "energy_exceeds_max_power" in row["flags"] and row["energy_reported_wh"] is None

    fleet_rows = client.get("/api/v1/fleet/sessions", params=WINDOW, headers=fleet).json()["sessions"]
    assert [(s["transaction_id"], s["review_pending"]) for s in fleet_rows] == [(tx, True)]
    assert "energy_exceeds_max_power" in fleet_rows[0]["flags"]
    csv = client.get("/api/v1/fleet/sessions.csv", params=WINDOW, headers=fleet).text
    assert "energy_exceeds_max_power" in csv

    # Held: visible, but neither in solar share nor in the reimbursement statement.
    assert driver_solar_total(client, fleet, driver_id) == 0
    assert statement_kwh(client, fleet, driver_id) == 0

    # The operator corrects it: the correction counts, the charger's figure is kept beside it.
    review = f"/api/v1/chargers/{CHARGER}/sessions/{tx}/review"
    corrected = client.post(review, json={"energy_wh": 2_997.6}, headers=operator)
    assert corrected.status_code == 200, corrected.text
    body = corrected.json()
    assert (body["energy_wh"], body["energy_reported_wh"], body["review_pending"]) == (
        2_997.6,
        299_763,
        False,
    )
    assert driver_solar_total(client, fleet, driver_id) == pytest.approx(2_997.6)
    assert statement_kwh(client, fleet, driver_id) == Decimal("2.998")

    # Confirming afterwards keeps the correction; the flags stay visible.
    confirmed = client.post(review, headers=operator).json()
    assert confirmed["energy_wh"] == 2_997.6 and "energy_exceeds_max_power" in confirmed["flags"]
    with session_scope() as db:
        stored = db.exec(select(ChargingSession).where(ChargingSession.transaction_id == tx)).one()
        operator_id = db.exec(select(User.id).where(User.email == "operator@sonnenstrom.demo")).one()
    assert stored.reviewed_by == operator_id and stored.reviewed_at is not None


def test_confirming_counts_the_chargers_figure(client: TestClient, held: tuple[str, int]) -> None:
    tx, driver_id = held
    operator, fleet = key_of("operator@sonnenstrom.demo"), key_of("fleet@acme.demo")
    response = client.post(f"/api/v1/chargers/{CHARGER}/sessions/{tx}/review", headers=operator)
    assert response.status_code == 200, response.text
    assert response.json()["review_pending"] is False and response.json()["energy_reported_wh"] is None
    assert driver_solar_total(client, fleet, driver_id) == 299_763


def test_only_the_chargers_operator_can_review(client: TestClient, held: tuple[str, int]) -> None:
    tx, _ = held
    review = f"/api/v1/chargers/{CHARGER}/sessions/{tx}/review"
    other_operator = client.post(review, headers=key_of("operator@northwind.demo"))
    assert other_operator.status_code == 404
    assert client.post(review, headers=key_of("fleet@acme.demo")).status_code == 403
    missing = client.post(
        f"/api/v1/chargers/{CHARGER}/sessions/no-such-tx/review", headers=key_of("operator@sonnenstrom.demo")
    )
    assert missing.status_code == 404
    with session_scope() as db:
        assert (
            db.exec(select(ChargingSession).where(ChargingSession.transaction_id == tx)).one().review_pending
        )


@pytest.mark.parametrize("energy", [-1, "lots", 1e308])  # 1e308: the fleet's solar share summed to inf (500)
def test_a_bad_correction_is_a_422_naming_the_field(
    client: TestClient, held: tuple[str, int], energy: object
) -> None:
    tx, _ = held
    response = client.post(
        f"/api/v1/chargers/{CHARGER}/sessions/{tx}/review",
        json={"energy_wh": energy},
        headers=key_of("operator@sonnenstrom.demo"),
    )
    assert response.status_code == 422, response.text
    assert "energy_wh" in response.json()["error"]["message"]
