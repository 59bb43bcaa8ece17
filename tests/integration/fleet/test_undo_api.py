"""Undo through the API (#13): `POST .../sessions/{id}/restore` and `POST .../statements/{id}/reopen`.

The services check role and fleet (tests/integration/fleet/test_undo.py); here the HTTP contract: the
undone object in the body, 403 for a driver's key, 404 for another fleet, 409 once the undo is no longer
possible (a session imported anew after its void, a statement already exported), and the audit trail.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app import audit
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import ChargingSession, Driver, SessionSource, User, VoidedSession
from tests.integration.api_keys import key_of


def _public_session(transaction_id: str, energy_wh: float) -> int:
    """A public (imported) session of Dana's; returns the acme fleet's tenant id."""
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == "driver@acme.demo")).one()
        driver = db.exec(select(Driver).where(Driver.user_id == user.id)).one()
        db.add(
            ChargingSession(
                transaction_id=transaction_id,
                station_id="TYPO",
                source=SessionSource.PUBLIC,
                driver_id=driver.id,
                start_utc=utcnow() - timedelta(hours=3),
                end_utc=utcnow() - timedelta(hours=2),
                energy_wh=energy_wh,
            )
        )
        db.commit()
        return driver.fleet_id


def test_restore_brings_a_voided_import_back_once(client: TestClient) -> None:
    fleet_id = _public_session("api-undo-1", 950_000.0)
    acme, globex, dana = (key_of(e) for e in ("fleet@acme.demo", "fleet@globex.demo", "driver@acme.demo"))
    url = "/api/v1/fleet/sessions/api-undo-1"
    assert client.post(f"{url}/void", json={"reason": "typo"}, headers=acme).status_code == 200
    assert client.post(f"{url}/restore", headers=dana).status_code == 403
    other = client.post(f"{url}/restore", headers=globex)
    assert other.status_code == 404 and other.json()["error"]["message"].startswith("transaction_id")

    back = client.post(f"{url}/restore", headers=acme)
    assert back.status_code == 200, back.text
    assert back.json() == {
        "transaction_id": "api-undo-1",
        "source": "public",
        "driver_id": back.json()["driver_id"],
        "energy_wh": 950_000.0,
    }
    with session_scope() as db:
        assert db.exec(select(ChargingSession).where(ChargingSession.transaction_id == "api-undo-1")).one()
        assert not db.exec(select(VoidedSession).where(VoidedSession.transaction_id == "api-undo-1")).first()
        trail = audit.history(db, fleet_id, "charging_session", "api-undo-1")
    assert [e["action"] for e in trail] == ["session.restored", "session.voided"]
    assert client.post(f"{url}/restore", headers=acme).status_code == 404  # nothing voided any more


def test_restore_is_a_conflict_when_the_session_was_imported_anew(client: TestClient) -> None:
    _public_session("api-undo-2", 12_000.0)
    acme = key_of("fleet@acme.demo")
    url = "/api/v1/fleet/sessions/api-undo-2"
    assert client.post(f"{url}/void", json={"reason": "duplicate"}, headers=acme).status_code == 200
    _public_session("api-undo-2", 12_500.0)  # the corrected row arrives in a later import
    clash = client.post(f"{url}/restore", headers=acme)
    assert clash.status_code == 409 and clash.json()["error"]["message"].startswith("transaction_id")
    with session_scope() as db:  # nothing half-done: the void record stays, the new row is untouched
        assert db.exec(select(VoidedSession).where(VoidedSession.transaction_id == "api-undo-2")).one()
        row = db.exec(select(ChargingSession).where(ChargingSession.transaction_id == "api-undo-2")).one()
        assert row.energy_wh == 12_500.0


@pytest.mark.dates
def test_reopen_withdraws_an_approval_until_the_export(client: TestClient) -> None:
    month = (utcnow() - timedelta(days=14)).strftime("%Y-%m")
    acme, globex, dana = (key_of(e) for e in ("fleet@acme.demo", "fleet@globex.demo", "driver@acme.demo"))
    base = "/api/v1/fleet/reimbursement"
    assert (
        client.put(f"{base}/rates/ocpp-wallbox", json={"rate_per_kwh": "0.30"}, headers=acme).status_code
        == 200
    )
    drafts = client.post(f"{base}/statements", params={"month": month}, headers=acme).json()
    statement = next(s for s in drafts if s["session_count"])
    url = f"{base}/statements/{statement['id']}"

    assert client.post(f"{url}/reopen", headers=acme).status_code == 409  # a draft has nothing to withdraw
    assert client.post(f"{url}/approve", headers=acme).json()["status"] == "approved"
    assert client.post(f"{url}/reopen", headers=dana).status_code == 403
    other = client.post(f"{url}/reopen", headers=globex)
    assert other.status_code == 404 and other.json()["error"]["message"].startswith("statement_id")
    reopened = client.post(f"{url}/reopen", headers=acme)
    assert reopened.status_code == 200 and reopened.json()["status"] == "draft"
    assert reopened.json()["total"] == statement["total"]
    with session_scope() as db:
        fleet_id = db.exec(select(User.tenant_id).where(User.email == "fleet@acme.demo")).one()
        actions = [
            e["action"] for e in audit.history(db, fleet_id, "reimbursement_statement", statement["id"])
        ]
    assert actions == ["statement.reopened", "statement.approved"]

    assert client.post(f"{url}/approve", headers=acme).status_code == 200
    assert client.post(f"{base}/export", params={"month": month}, headers=acme).status_code == 200
    late = client.post(f"{url}/reopen", headers=acme)
    assert late.status_code == 409 and late.json()["error"]["message"].startswith("status")
    assert client.get(f"{base}/statements/{statement['id']}.pdf", headers=acme).status_code == 200
