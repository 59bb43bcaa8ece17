"""An operator sets what a connector can deliver (`PUT /api/v1/chargers/{id}/connectors/{n}`), on SQLite
and PostgreSQL: the value is kept and shown, audited, bounded, refused for another tenant's charger, and
it is what the plausibility check then holds sessions against (an 11 kW wallbox cannot give 20 kWh in an
hour; the 350 kW fallback would let that through)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import AuditEvent, Charger
from pipelet_app.ocpp import transactions
from tests.integration.api_keys import key_of

CHARGER = "SON-CP-001"  # operator@sonnenstrom.demo's
START = datetime(2001, 1, 15, 9, 0, tzinfo=UTC)


def one_hour_of(energy_wh: int, day: int) -> list[str]:
    """Flags of a one-hour session of `energy_wh` on connector 2 of the charger, on `day` of January 2001."""
    start = START.replace(day=day)
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == CHARGER)).one()
        assert charger.id is not None
        session = transactions.start_transaction(
            db, charger.id, CHARGER, connector_id=2, id_tag="ANY", meter_start_wh=1_000, started_at=start,
            driver_id=None, key=None, version="1.6",
        )  # fmt: skip
        transactions.stop_transaction(
            db,
            session,
            meter_stop_wh=1_000 + energy_wh,
            stopped_at=start + timedelta(hours=1),
            reason="Local",
        )
        db.commit()
        return [flag for flag in session.flags.split(",") if flag]


def test_the_operator_sets_max_power_and_sessions_are_held_to_it(client: TestClient) -> None:
    son = key_of("operator@sonnenstrom.demo")
    assert one_hour_of(20_000, day=1) == []  # unknown: a DC charger's 350 kW is assumed
    answer = client.put(f"/api/v1/chargers/{CHARGER}/connectors/2", json={"max_power_w": 11_000}, headers=son)
    assert answer.status_code == 200, answer.text
    assert answer.json()["connector_id"] == 2 and answer.json()["max_power_w"] == 11_000
    shown = client.get(f"/api/v1/chargers/{CHARGER}", headers=son).json()["connectors"]
    assert {"connector_id": 2, "max_power_w": 11_000} in [
        {"connector_id": c["connector_id"], "max_power_w": c["max_power_w"]} for c in shown
    ]
    assert "energy_exceeds_max_power" in one_hour_of(20_000, day=2)
    assert one_hour_of(10_000, day=3) == []
    with session_scope() as db:
        [event] = db.exec(select(AuditEvent).where(AuditEvent.action == "charger.connector_max_power")).all()
        assert event.actor == "operator@sonnenstrom.demo" and event.object_id == CHARGER
        assert event.changes == {"connector_id": 2, "max_power_w": [None, 11_000]}


@pytest.mark.parametrize(
    ("connector", "body", "status", "words"),
    [
        (1, {"max_power_w": 0}, 422, "max_power_w"),
        (1, {"max_power_w": 2_000_000}, 422, "max_power_w"),
        (1, {"max_power_w": "lots"}, 422, "max_power_w"),
        (1, {}, 422, "max_power_w"),
        (0, {"max_power_w": 11_000}, 422, "connector_id"),
    ],
)
def test_bad_values_name_the_field(
    client: TestClient, connector: int, body: dict, status: int, words: str
) -> None:
    son = key_of("operator@sonnenstrom.demo")
    answer = client.put(f"/api/v1/chargers/{CHARGER}/connectors/{connector}", json=body, headers=son)
    assert answer.status_code == status and words in answer.text


def test_another_tenants_operator_gets_404_and_changes_nothing(client: TestClient) -> None:
    northwind = key_of("operator@northwind.demo")
    answer = client.put(
        f"/api/v1/chargers/{CHARGER}/connectors/1", json={"max_power_w": 500}, headers=northwind
    )
    assert answer.status_code == 404
    son = key_of("operator@sonnenstrom.demo")
    connectors = client.get(f"/api/v1/chargers/{CHARGER}", headers=son).json()["connectors"]
    assert all(c["max_power_w"] != 500 for c in connectors)
