"""`/api/v1/chargers/{id}/sessions`, `/reservations` and `/uptime` on SQLite and PostgreSQL: what the
CSMS stored, read as an operator should read it, and never another tenant's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from pipelet_app.api import build_api
from pipelet_app.clock import frozen, utcnow
from tests.integration.api.charger_facts import (
    CHARGER,
    DEGRADED_H,
    GAP_TX,
    MONTH,
    OFFLINE_H,
    ONLINE_H,
    Facts,
    add_charger_facts,
)
from tests.integration.api_keys import key_of

ROUTES = ("sessions", "reservations", "uptime")


@pytest.fixture
def facts(demo: dict) -> Facts:
    return add_charger_facts()


@pytest.fixture
def client(facts: Facts) -> Iterator[TestClient]:
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def operator() -> dict[str, str]:
    return key_of("operator@sonnenstrom.demo")


def test_sessions_say_how_many_messages_are_missing(client: TestClient, operator: dict[str, str]) -> None:
    response = client.get(f"/api/v1/chargers/{CHARGER}/sessions", headers=operator)
    assert response.status_code == 200, response.text
    sessions = response.json()
    assert sessions[0]["transaction_id"] == GAP_TX
    assert sessions[0]["missing_messages"] == 3
    assert len(sessions) > 1 and all(s["missing_messages"] == 0 for s in sessions[1:])
    assert len(sessions) <= 20
    one = client.get(f"/api/v1/chargers/{CHARGER}/sessions", params={"limit": 1}, headers=operator)
    assert [s["transaction_id"] for s in one.json()] == [GAP_TX]


@pytest.mark.dates
def test_reservations_newest_first_with_expiry_and_session(
    client: TestClient, operator: dict[str, str], facts: Facts
) -> None:
    response = client.get(f"/api/v1/chargers/{CHARGER}/reservations", headers=operator)
    assert response.status_code == 200, response.text
    got = [
        (r["reservation_id"], r["connector_id"], r["id_tag"], r["status"], r["session_transaction_id"])
        for r in response.json()
    ]
    assert got == [
        (3, 2, "ACME0003", "Active", None),
        (2, 0, "ACME0002", "Used", facts.used_by),
        (1, 1, "ACME0001", "Expired", None),  # stored Active, but past its expiry
    ]
    limited = client.get(f"/api/v1/chargers/{CHARGER}/reservations?limit=2", headers=operator).json()
    assert [r["reservation_id"] for r in limited] == [3, 2]


def test_uptime_of_a_past_month(client: TestClient, operator: dict[str, str]) -> None:
    response = client.get(f"/api/v1/chargers/{CHARGER}/uptime", params={"month": MONTH}, headers=operator)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["month"] == MONTH and body["charge_point_id"] == CHARGER
    assert body["from_utc"].startswith("2025-03-01T00:00:00") and body["to_utc"].startswith("2025-04-01")
    assert (body["online_s"], body["degraded_s"], body["offline_s"]) == (
        ONLINE_H * 3600,
        DEGRADED_H * 3600,
        OFFLINE_H * 3600,
    )
    assert body["online_percent"] == pytest.approx(100 * ONLINE_H / 744, abs=0.01)
    assert body["degraded_percent"] + body["online_percent"] + body["offline_percent"] == pytest.approx(100)


@pytest.mark.dates
def test_uptime_defaults_to_the_running_month(client: TestClient, operator: dict[str, str]) -> None:
    now = utcnow()
    with frozen(now):  # the API's "now" is the test's: no month can begin in between
        body = client.get(f"/api/v1/chargers/{CHARGER}/uptime", headers=operator).json()
    assert body["month"] == now.strftime("%Y-%m")
    assert body["online_s"] == 0 and body["offline_percent"] == 100  # no connection this month


def test_a_month_not_yet_begun_has_no_percentages(client: TestClient, operator: dict[str, str]) -> None:
    body = client.get(f"/api/v1/chargers/{CHARGER}/uptime?month=2999-12", headers=operator).json()
    assert body["online_s"] == body["offline_s"] == 0
    assert body["online_percent"] is body["offline_percent"] is None


@pytest.mark.parametrize("month", ["2025-13", "2025-3", "2025-00", "march", "0000-01", "2025-03-01", ""])
def test_a_bad_month_is_a_422_naming_the_field(
    client: TestClient, operator: dict[str, str], month: str
) -> None:
    response = client.get(f"/api/v1/chargers/{CHARGER}/uptime", params={"month": month}, headers=operator)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["status"] == 422 and error["message"].startswith("month")
    assert error["fields"][0]["field"] == "month"


@pytest.mark.parametrize("route", ROUTES)
def test_another_tenants_charger_is_404_like_a_missing_one(client: TestClient, route: str) -> None:
    foreign_operator = key_of("operator@northwind.demo")
    foreign = client.get(f"/api/v1/chargers/{CHARGER}/{route}", headers=foreign_operator)
    missing = client.get(f"/api/v1/chargers/NOPE/{route}", headers=foreign_operator)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert CHARGER not in foreign.text and GAP_TX not in foreign.text


@pytest.mark.parametrize("route", ROUTES)
def test_other_roles_are_403(client: TestClient, route: str) -> None:
    response = client.get(f"/api/v1/chargers/{CHARGER}/{route}", headers=key_of("fleet@acme.demo"))
    assert response.status_code == 403


def test_routes_are_in_the_spec_with_their_errors(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for route in ROUTES:
        responses = paths[f"/api/v1/chargers/{{charge_point_id}}/{route}"]["get"]["responses"]
        assert {"200", "401", "403", "404", "422", "429"} <= set(responses)
