"""`/api/v1/chargers/{id}/sessions`, `/reservations` and `/uptime` on SQLite and PostgreSQL: what the
CSMS stored, read as an operator should read it, and never another tenant's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import delete, select

from pipelet_app.api import build_api
from pipelet_app.clock import frozen, utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargerConnectionPeriod, ConnectorStatusPeriod, HealthMonth
from pipelet_app.operations.health import rollup
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


def _charger_id() -> int:
    with session_scope() as db:
        return db.exec(select(Charger.id).where(Charger.charge_point_id == CHARGER)).one()  # type: ignore[return-value]


def _prune_histories(charger_id: int) -> None:
    with session_scope() as db:
        db.exec(delete(ChargerConnectionPeriod).where(ChargerConnectionPeriod.charger_id == charger_id))  # type: ignore[call-overload]
        db.exec(delete(ConnectorStatusPeriod).where(ConnectorStatusPeriod.charger_id == charger_id))  # type: ignore[call-overload]


def _figures(body: dict) -> tuple[float, float, float]:
    return body["online_s"], body["degraded_s"], body["offline_s"]


def test_a_closed_month_is_read_from_its_stored_row(client: TestClient, operator: dict[str, str]) -> None:
    """Once the roll-up stored March after its end, March is that row: pruning the histories changes
    nothing, and the answer is the figure the site reports sum."""
    with session_scope() as db:
        rollup(db, 2025, 3, datetime(2025, 4, 2, tzinfo=UTC))  # the roll-up's run on the 2nd of April
    _prune_histories(_charger_id())
    body = client.get(f"/api/v1/chargers/{CHARGER}/uptime", params={"month": MONTH}, headers=operator).json()
    assert _figures(body) == (ONLINE_H * 3600, DEGRADED_H * 3600, OFFLINE_H * 3600)
    assert body["to_utc"].startswith("2025-04-01")
    assert body["online_percent"] == pytest.approx(100 * ONLINE_H / 744, abs=0.01)


def test_a_row_stored_while_the_month_ran_is_not_its_answer(
    client: TestClient, operator: dict[str, str]
) -> None:
    """A row stored on 20 March covers 19 days: the closed month is computed from the histories."""
    with session_scope() as db:
        rollup(db, 2025, 3, datetime(2025, 3, 20, tzinfo=UTC))
        row = db.get(HealthMonth, ("charger", _charger_id(), MONTH))
        assert row is not None and row.online_s + row.degraded_s + row.offline_s == 19 * 86400
    body = client.get(f"/api/v1/chargers/{CHARGER}/uptime", params={"month": MONTH}, headers=operator).json()
    assert _figures(body) == (ONLINE_H * 3600, DEGRADED_H * 3600, OFFLINE_H * 3600)


@pytest.mark.dates
def test_the_running_month_is_computed_on_read_as_the_rollup_computes_it(
    client: TestClient, operator: dict[str, str]
) -> None:
    """The running month: the roll-up's figure at the same instant, and not a stored row (it is at most
    five minutes old, and ends when it was stored)."""
    now = utcnow()
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    charger_id = _charger_id()
    with session_scope() as db:
        charger = db.get(Charger, charger_id)
        assert charger is not None
        charger.is_online = True
        db.add(charger)
        db.add(ChargerConnectionPeriod(charger_id=charger_id, connected_at=start, disconnected_at=None))
        db.commit()
        rollup(db, now.year, now.month, now)
    with frozen(now):
        body = client.get(f"/api/v1/chargers/{CHARGER}/uptime", headers=operator).json()
    with session_scope() as db:
        row = db.get(HealthMonth, ("charger", charger_id, now.strftime("%Y-%m")))
        assert row is not None
        assert _figures(body) == (row.online_s, row.degraded_s, row.offline_s)
        assert _figures(body) == ((now - start).total_seconds(), 0, 0)  # online since the month began
        row.online_s, row.offline_s = 1.0, row.online_s - 1.0  # a stale row
        db.add(row)
        db.commit()
    with frozen(now):
        again = client.get(f"/api/v1/chargers/{CHARGER}/uptime", headers=operator).json()
    assert _figures(again) == _figures(body)


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
