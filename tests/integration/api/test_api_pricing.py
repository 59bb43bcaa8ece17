"""`/api/v1/pricing/plans`, `PUT /chargers/{id}/pricing`, `GET /sessions/{transaction_id}/cost` on SQLite
and PostgreSQL over the demo data: operators manage their own plans, another tenant's objects are 404,
errors name the field, and the demo's OCPP sessions carry costs whose lines add up."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargingSession, SessionSource, User
from tests.integration.api_keys import key_of

PLAN = {
    "name": "Workplace",
    "base": {"per_kwh": "0.35"},
    "session_fee": "1.00",
    "idle_fee_per_minute": "0.05",
    "idle_grace_minutes": 20,
    "windows": [
        {
            "label": "peak",
            "rate": {"per_kwh": "0.60"},
            "start": "17:00",
            "end": "21:00",
            "weekdays": [0, 1, 2, 3, 4],
            "priority": 1,
        }
    ],
}


@pytest.fixture
def son() -> dict[str, str]:
    return key_of("operator@sonnenstrom.demo")


@pytest.fixture
def nw() -> dict[str, str]:
    return key_of("operator@northwind.demo")


def test_plans_are_created_listed_and_kept_per_tenant(client: TestClient, son: dict, nw: dict) -> None:
    created = client.post("/api/v1/pricing/plans", json=PLAN, headers=son)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["base"] == {"per_kwh": "0.35", "per_hour": "0"} and plan["session_fee"] == "1.00"
    assert plan["windows"][0]["start"] == "17:00" and plan["windows"][0]["weekdays"] == [0, 1, 2, 3, 4]
    assert created.headers["location"] == f"/api/v1/pricing/plans/{plan['id']}"
    mine = [p["name"] for p in client.get("/api/v1/pricing/plans", headers=son).json()]
    theirs = [p["name"] for p in client.get("/api/v1/pricing/plans", headers=nw).json()]
    assert mine == ["Demo standard", "Workplace"] and theirs == ["Demo standard"]
    again = client.post("/api/v1/pricing/plans", json=PLAN, headers=son)
    assert again.status_code == 422 and again.json()["error"]["message"].startswith("name:")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"session_fee": "-1"}, "session_fee:"),
        ({"base": {"per_kwh": "cheap"}}, "base.per_kwh:"),
        ({"idle_grace_minutes": -5}, "idle_grace_minutes:"),
        ({"windows": [{**PLAN["windows"][0], "start": "25:00"}]}, "windows[0].start:"),
        ({"windows": [{**PLAN["windows"][0], "weekdays": [9]}]}, "windows[0].weekdays:"),
        ({"windows": [{**PLAN["windows"][0], "label": ""}]}, "windows[0].label:"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field(
    client: TestClient, son: dict, change: dict, field: str
) -> None:
    answer = client.post("/api/v1/pricing/plans", json={**PLAN, **change}, headers=son)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["message"].startswith(field)


def test_charger_pricing_is_set_by_its_own_operator_only(client: TestClient, son: dict, nw: dict) -> None:
    plan_id = client.post("/api/v1/pricing/plans", json=PLAN, headers=son).json()["id"]
    body = {"plan_id": plan_id, "multiplier": "1.25"}
    done = client.put("/api/v1/chargers/SON-CP-001/pricing", json=body, headers=son)
    assert done.status_code == 200, done.text
    assert done.json() == {"charge_point_id": "SON-CP-001", "plan_id": plan_id, "multiplier": "1.25"}
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "SON-CP-001")).one()
        assert charger.pricing_plan_id == plan_id and charger.price_multiplier == Decimal("1.25")
    assert client.put("/api/v1/chargers/SON-CP-001/pricing", json=body, headers=nw).status_code == 404
    assert client.put("/api/v1/chargers/NO-SUCH/pricing", json=body, headers=son).status_code == 404
    foreign = client.put("/api/v1/chargers/NW-CP-001/pricing", json=body, headers=nw)
    assert foreign.status_code == 422 and foreign.json()["error"]["message"].startswith("plan_id:")
    for bad in ("0", "-1", "11", "1.0001", "x"):
        answer = client.put(
            "/api/v1/chargers/SON-CP-001/pricing", json={**body, "multiplier": bad}, headers=son
        )
        assert answer.status_code == 422 and answer.json()["error"]["message"].startswith("multiplier:"), bad
    driver = key_of("driver@acme.demo")
    assert client.put("/api/v1/chargers/SON-CP-001/pricing", json=body, headers=driver).status_code == 403


def test_demo_sessions_carry_costs_with_lines_that_add_up(client: TestClient, son: dict, nw: dict) -> None:
    with session_scope() as db:
        rows = db.exec(
            select(ChargingSession)
            .where(ChargingSession.source == SessionSource.OCPP_WALLBOX)
            .order_by(col(ChargingSession.id))
        ).all()
        sessions = [(s.transaction_id, s.cost, s.currency, s.station_id) for s in rows]
    assert sessions and all(cost is not None and cost > 0 for _, cost, _, _ in sessions)
    assert {cur for _, _, cur, station in sessions if station.startswith("NW-")} == {"USD"}
    for transaction_id, cost, currency, station in sessions[:10]:
        key = nw if station.startswith("NW-") else son
        answer = client.get(f"/api/v1/sessions/{transaction_id}/cost", headers=key)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["final"] is True and body["currency"] == currency
        assert Decimal(body["total"]) == Decimal(str(cost))
        assert sum(Decimal(line["amount"]) for line in body["lines"]) == Decimal(body["total"])
        assert body["lines"][0]["label"] == "Session fee" or station.startswith("NW-")
        other = son if key is nw else nw
        assert client.get(f"/api/v1/sessions/{transaction_id}/cost", headers=other).status_code == 404
    assert client.get("/api/v1/sessions/no-such-tx/cost", headers=son).status_code == 404
    fleet = client.get("/api/v1/fleet/sessions", headers=key_of("fleet@acme.demo"))
    assert fleet.status_code == 200, fleet.text
    by_id = {tx: (cost, currency) for tx, cost, currency, _ in sessions}
    seen = [s for s in fleet.json()["sessions"] if s["source"] == "ocpp-wallbox"]
    # the API's number is the exact stored Decimal
    assert seen and all((Decimal(str(s["cost"])), s["currency"]) == by_id[s["transaction_id"]] for s in seen)


def test_a_site_has_a_currency(client: TestClient, son: dict) -> None:
    site = client.post(
        "/api/v1/sites", json={"name": "Zürich", "timezone": "Europe/Zurich"}, headers=son
    ).json()
    assert site["currency"] == "EUR"
    changed = client.patch(f"/api/v1/sites/{site['id']}", json={"currency": "CHF"}, headers=son)
    assert changed.status_code == 200 and changed.json()["currency"] == "CHF"
    for bad in ("chf", "EU", None):
        answer = client.patch(f"/api/v1/sites/{site['id']}", json={"currency": bad}, headers=son)
        assert answer.status_code == 422 and answer.json()["error"]["message"].startswith("currency:"), bad


def test_the_operator_console_shows_session_costs(client: TestClient) -> None:
    from pipelet_app.auth import Principal
    from pipelet_app.portals.operator.charger_data import charger_view

    with session_scope() as db:
        user = db.exec(select(User).where(User.email == "operator@sonnenstrom.demo")).one()
        view = charger_view(db, Principal.of(user), "SON-CP-001")
        stored = {
            s.transaction_id: s.cost
            for s in db.exec(select(ChargingSession).where(ChargingSession.station_id == "SON-CP-001")).all()
        }
    assert view["sessions"]
    for row in view["sessions"]:
        assert row["cost"] == f"{stored[row['tx']]:.2f} EUR"
