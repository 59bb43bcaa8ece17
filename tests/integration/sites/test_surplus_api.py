"""`/api/v1/sites/{id}/surplus` and `/api/v1/sessions/{transaction_id}/preferences` on SQLite and
PostgreSQL: operators set their own sites' controller, drivers their own running sessions; a fleet
manager of the driver's fleet may read; every other caller gets 404; errors name the field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Driver,
    SessionPreference,
    SessionSource,
    Site,
    SurplusDecision,
    User,
)
from pipelet_app.db.types import utcnow
from tests.integration.api_keys import key_of, site_of

NO_TARIFF = {
    "tariff_source": "none",
    "tariff_region": None,
    "tariff_slots": 0,
    "tariff_until_utc": None,
    "tariff_fetched_utc": None,
    "tariff_error": None,
    "tariff_status": "no tariff source: Eco-plus plans like PV-priority",
}


def running_session(driver_email: str | None, fleet: str, tx: str) -> str:
    """A running session of the driver who logs in as `driver_email` (or of another driver of `fleet`)."""
    with session_scope() as db:
        drivers = db.exec(select(Driver).join(User, isouter=True).order_by(Driver.id)).all()
        if driver_email is not None:
            user = db.exec(select(User).where(User.email == driver_email)).one()
            driver = next(d for d in drivers if d.user_id == user.id)
        else:
            fleet_id = db.exec(select(User.tenant_id).where(User.email == f"fleet@{fleet}.demo")).one()
            driver = next(d for d in drivers if d.fleet_id == fleet_id and d.user_id is None)
        charger = db.exec(select(Charger).order_by(Charger.id)).first()
        db.add(
            ChargingSession(
                transaction_id=tx,
                station_id=charger.charge_point_id,  # type: ignore[union-attr]
                source=SessionSource.OCPP_WALLBOX,
                driver_id=driver.id,
                charger_id=charger.id,  # type: ignore[union-attr]
                connector_id=1,
                start_utc=utcnow() - timedelta(minutes=20),
            )
        )
    return tx


def test_operator_reads_and_sets_the_surplus_settings(client: TestClient) -> None:
    son = key_of("operator@sonnenstrom.demo")
    site = site_of("operator@sonnenstrom.demo")
    url = f"/api/v1/sites/{site}/surplus"
    assert client.get(url, headers=son).json() == {
        "site_id": site,
        "enabled": False,
        "mode": "pv-only",
        "min_soc": None,
        "battery_priority": True,
        "interval_s": 10,
        **NO_TARIFF,
    }
    with session_scope() as db:
        db.get(Site, site).grid_limit_a = None  # type: ignore[union-attr]
    refused = client.put(url, json={"enabled": True}, headers=son)
    assert refused.status_code == 422 and refused.json()["error"]["message"].startswith("enabled:")
    with session_scope() as db:
        db.get(Site, site).grid_limit_a = 63  # type: ignore[union-attr]
    changed = client.put(
        url, json={"enabled": True, "mode": "pv-priority", "min_soc": 40, "interval_s": 15}, headers=son
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "site_id": site,
        "enabled": True,
        "mode": "pv-priority",
        "min_soc": 40.0,
        "battery_priority": True,
        "interval_s": 15,
        **NO_TARIFF,
    }
    assert client.put(url, json={"battery_priority": False}, headers=son).json()["mode"] == "pv-priority"
    assert client.get(url, headers=son).json()["battery_priority"] is False
    # the grid limit cannot go while the controller is on: the loop would stop without a word
    cleared = client.patch(f"/api/v1/sites/{site}", json={"grid_limit_a": None}, headers=son)
    assert cleared.status_code == 422 and cleared.json()["error"]["message"].startswith("grid_limit_a:")
    assert client.get(f"/api/v1/sites/{site}", headers=son).json()["grid_limit_a"] == 63
    assert client.put(url, json={"enabled": False}, headers=son).status_code == 200
    cleared = client.patch(f"/api/v1/sites/{site}", json={"grid_limit_a": None}, headers=son)
    assert cleared.status_code == 200 and cleared.json()["grid_limit_a"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "turbo"}, "mode"),
        ({"interval_s": 5}, "interval_s"),
        ({"interval_s": 31}, "interval_s"),
        ({"min_soc": 120}, "min_soc"),
        ({"enabled": "yes please"}, "enabled"),
    ],
)
def test_bad_settings_name_the_field(client: TestClient, body: dict, field: str) -> None:
    son = key_of("operator@sonnenstrom.demo")
    answer = client.put(
        f"/api/v1/sites/{site_of('operator@sonnenstrom.demo')}/surplus", json=body, headers=son
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["message"].startswith(f"{field}:")


def test_other_tenants_and_roles_get_404_or_403(client: TestClient) -> None:
    site = site_of("operator@sonnenstrom.demo")
    nw = key_of("operator@northwind.demo")
    for method in ("get", "put"):
        kwargs = {"json": {"enabled": False}} if method == "put" else {}
        answer = getattr(client, method)(f"/api/v1/sites/{site}/surplus", headers=nw, **kwargs)
        assert answer.status_code == 404
    assert client.get(f"/api/v1/sites/{site}/surplus/decisions", headers=nw).status_code == 404
    assert client.get(f"/api/v1/sites/{site}/surplus", headers=key_of("driver@acme.demo")).status_code == 403
    assert client.get(f"/api/v1/sites/{site}/surplus").status_code == 401


def test_decisions_newest_first_for_the_operator(client: TestClient) -> None:
    son = key_of("operator@sonnenstrom.demo")
    site = site_of("operator@sonnenstrom.demo")
    now = utcnow()
    with session_scope() as db:
        for i in range(3):
            db.add(
                SurplusDecision(
                    site_id=site,
                    time_utc=now + timedelta(seconds=10 * i),
                    mode="pv-only",
                    available_w=1000.0 * i,
                    reason=f"cycle {i}",
                    chargers=[
                        {
                            "charger": "CP/1",
                            "limit_a": 6.0 + i,
                            "phases": 3,
                            "charging": True,
                            "reason": "surplus",
                            "sent": "Accepted",
                        }
                    ],
                )
            )
    answer = client.get(f"/api/v1/sites/{site}/surplus/decisions?limit=2", headers=son)
    assert answer.status_code == 200, answer.text
    rows = answer.json()
    assert [r["reason"] for r in rows] == ["cycle 2", "cycle 1"]
    assert rows[0]["chargers"][0]["limit_a"] == 8.0 and rows[0]["chargers"][0]["sent"] == "Accepted"


def test_driver_sets_preferences_of_their_own_running_session(client: TestClient) -> None:
    tx = running_session("driver@acme.demo", "acme", "ocpp16:CP-PREF:1")
    driver = key_of("driver@acme.demo")
    url = f"/api/v1/sessions/{tx}/preferences"
    departure = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    answer = client.put(
        url,
        json={"mode": "eco-plus", "departure_utc": departure.isoformat(), "energy_wh": 12000},
        headers=driver,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["mode"], body["energy_wh"], body["running"]) == ("eco-plus", 12000.0, True)
    assert body["departure_utc"].startswith(departure.strftime("%Y-%m-%dT%H:%M:%S"))
    # Only the given fields change; null clears one.
    again = client.put(url, json={"mode": None}, headers=driver).json()
    assert (again["mode"], again["energy_wh"]) == (None, 12000.0)
    with session_scope() as db:
        session = db.exec(select(ChargingSession).where(ChargingSession.transaction_id == tx)).one()
        row = db.get(SessionPreference, session.id)
        assert row is not None and row.mode is None and row.energy_wh == 12000.0
    # The fleet manager of the driver's fleet reads; may not change.
    acme_fleet = key_of("fleet@acme.demo")
    assert client.get(url, headers=acme_fleet).json()["energy_wh"] == 12000.0
    assert client.put(url, json={"mode": "pv-only"}, headers=acme_fleet).status_code == 403


def test_preferences_of_others_are_404(client: TestClient) -> None:
    mine = running_session("driver@acme.demo", "acme", "ocpp16:CP-PREF:2")
    colleague = running_session(None, "acme", "ocpp16:CP-PREF:3")
    driver = key_of("driver@acme.demo")
    # A colleague's session, another fleet's driver and fleet manager, an operator: all 404 / 403.
    assert client.put(f"/api/v1/sessions/{colleague}/preferences", json={}, headers=driver).status_code == 404
    assert client.get(f"/api/v1/sessions/{colleague}/preferences", headers=driver).status_code == 404
    for email in ("driver@globex.demo", "fleet@globex.demo"):
        other = key_of(email)
        assert client.get(f"/api/v1/sessions/{mine}/preferences", headers=other).status_code == 404
    assert (
        client.put(
            f"/api/v1/sessions/{mine}/preferences", json={}, headers=key_of("driver@globex.demo")
        ).status_code
        == 404
    )
    operator = key_of("operator@sonnenstrom.demo")
    assert client.get(f"/api/v1/sessions/{mine}/preferences", headers=operator).status_code == 403
    assert client.get("/api/v1/sessions/nope/preferences", headers=driver).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "fast"}, "mode"),
        ({"departure_utc": "tomorrow"}, "departure_utc"),
        ({"departure_utc": "2020-01-01T10:00:00Z"}, "departure_utc"),
        ({"departure_utc": "2099-01-01T10:00:00"}, "departure_utc"),
        ({"energy_wh": -5}, "energy_wh"),
        ({"energy_wh": 1e9}, "energy_wh"),
    ],
)
def test_bad_preferences_name_the_field(client: TestClient, body: dict, field: str) -> None:
    tx = running_session("driver@acme.demo", "acme", f"ocpp16:CP-BAD:{field}")
    answer = client.put(f"/api/v1/sessions/{tx}/preferences", json=body, headers=key_of("driver@acme.demo"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["message"].startswith(f"{field}:")


def test_an_ended_session_takes_no_preferences(client: TestClient) -> None:
    tx = running_session("driver@acme.demo", "acme", "ocpp16:CP-END:1")
    with session_scope() as db:
        session = db.exec(select(ChargingSession).where(ChargingSession.transaction_id == tx)).one()
        session.end_utc = utcnow()
    answer = client.put(
        f"/api/v1/sessions/{tx}/preferences", json={"energy_wh": 5000}, headers=key_of("driver@acme.demo")
    )
    assert answer.status_code == 422 and answer.json()["error"]["message"].startswith("transaction_id:")
