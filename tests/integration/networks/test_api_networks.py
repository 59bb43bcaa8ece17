"""`/api/v1/networks` on SQLite and PostgreSQL: connect with a live test (refused credentials store nothing),
credentials never answered or logged, the state of each integration, sync now, sessions and chargers, and
tenant isolation: another tenant's operator gets 404 for every route of an account."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import AuditEvent, NetworkAccount, Role, User
from pipelet_app.inverters.credentials import decrypt_credentials
from pipelet_app.networks.base import ReauthRequired, SessionBatch
from pipelet_app.settings import get_settings
from pollers import networks as poller
from tests.fakes.networks import FakeHelios, FakeLoop
from tests.integration.api.onboarding_helpers import NORTH, SONNEN, key_of

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def helios(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHelios]:
    """Helios configured too (the `loop` and `client` fixtures are the folder's, conftest.py)."""
    with FakeHelios() as fake:
        monkeypatch.setenv("HELIOS_API_BASE", fake.url)
        get_settings.cache_clear()
        yield fake
    get_settings.cache_clear()


def test_connect_list_sync_and_isolate(
    client: TestClient, loop: FakeLoop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    op, other = key_of(SONNEN), key_of(NORTH)
    types = client.get("/api/v1/networks/types", headers=op).json()
    assert [t["network"] for t in types] == ["loop", "evrange", "chargepoint", "helios"]
    assert {t["network"]: t["configured"] for t in types} == {
        "loop": True,
        "evrange": False,
        "chargepoint": True,
        "helios": True,
    }

    secret = loop.credentials()["client_secret"]
    refused = client.post(
        "/api/v1/networks",
        json={
            "network": "loop",
            "label": "Depot",
            "credentials": {"client_id": "loop-client", "client_secret": "nope-nope"},
        },
        headers=op,
    )
    assert refused.status_code == 422 and refused.json()["error"]["message"].startswith("credentials:")
    missing = client.post(
        "/api/v1/networks", json={"network": "loop", "credentials": {"client_id": "x"}}, headers=op
    )
    assert (
        missing.status_code == 422
        and missing.json()["error"]["message"] == "credentials.client_secret: required"
    )
    unset = client.post(
        "/api/v1/networks", json={"network": "evrange", "credentials": {"token": "t"}}, headers=op
    )
    assert unset.status_code == 422 and "EVRANGE_API_BASE" in unset.json()["error"]["message"]
    with session_scope() as db:
        assert db.exec(select(NetworkAccount)).all() == []

    created = client.post(
        "/api/v1/networks",
        json={"network": "loop", "label": "Depot", "credentials": loop.credentials()},
        headers=op,
    )
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["status"] == "pending" and secret not in created.text
    again = client.post(
        "/api/v1/networks",
        json={"network": "loop", "label": "Depot", "credentials": loop.credentials()},
        headers=op,
    )
    assert again.status_code == 409
    with session_scope() as db:
        row = db.get(NetworkAccount, account["id"])
        assert row is not None and secret not in (row.credentials_enc or "")
        assert decrypt_credentials(row.credentials_enc or "")["client_secret"] == secret
        trail = db.exec(select(AuditEvent).where(AuditEvent.object_type == "network_account")).all()
        assert [e.action for e in trail] == ["network.connected"] and secret not in str(trail[0].changes)

    asyncio.run(poller.poll_network_account(account["id"], clock=lambda: NOW))
    listed = client.get("/api/v1/networks", headers=op).json()
    assert [(a["network"], a["status"], a["sessions"], a["chargers"]) for a in listed] == [
        ("loop", "connected", 1, 1)
    ]
    sessions = client.get(f"/api/v1/networks/{account['id']}/sessions", headers=op).json()
    assert [(s["session_id"], s["energy_wh"], s["cost"]) for s in sessions] == [
        ("ses_0001", 18420.0, "6.450")
    ]
    chargers = client.get(f"/api/v1/networks/{account['id']}/chargers", headers=op).json()
    assert [(c["external_id"], c["site"]) for c in chargers] == [("chg_91x", "Depot Nord")]
    synced = client.post(f"/api/v1/networks/{account['id']}/sync", headers=op)
    assert synced.status_code == 202

    for method, path in (
        ("GET", ""),
        ("GET", "/sessions"),
        ("GET", "/chargers"),
        ("POST", "/sync"),
        ("PUT", "/credentials"),
        ("DELETE", ""),
    ):
        body = {"credentials": loop.credentials()} if method == "PUT" else None
        answer = client.request(method, f"/api/v1/networks/{account['id']}{path}", json=body, headers=other)
        assert answer.status_code == 404, (method, path, answer.text)
    assert client.get("/api/v1/networks", headers=other).json() == []

    everything = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert secret not in everything
    assert client.delete(f"/api/v1/networks/{account['id']}", headers=op).status_code == 204
    assert client.get("/api/v1/networks", headers=op).json() == []
    assert len(client.get("/api/v1/networks/types", headers=op).json()) == 4


def _poll(account_id: int, now: datetime = NOW) -> None:
    with session_scope() as db:
        db.get(NetworkAccount, account_id).next_poll_utc = now  # type: ignore[union-attr]
    asyncio.run(poller.poll_network_account(account_id, clock=lambda: now))


def test_replace_rotated_credentials_keeps_the_account(
    client: TestClient, helios: FakeHelios, caplog: pytest.LogCaptureFixture
) -> None:
    """The key is rotated at Helios: the account needs new credentials. Refused ones name the field and
    leave the stored ones as they were; accepted ones are stored encrypted in place: same id, its sessions,
    chargers and location mapping kept, due at once. Role and tenant are checked; no key in any log."""
    caplog.set_level(logging.DEBUG)
    op, other = key_of(SONNEN), key_of(NORTH)
    account = client.post(
        "/api/v1/networks",
        json={"network": "helios", "label": "Werkhof", "credentials": helios.credentials()},
        headers=op,
    ).json()
    url = f"/api/v1/networks/{account['id']}/credentials"
    _poll(account["id"])
    site = client.post(
        "/api/v1/sites", json={"name": "Werkhof", "timezone": "Europe/Berlin"}, headers=op
    ).json()
    mapped = client.put(
        f"/api/v1/networks/{account['id']}/locations",
        json={"location_id": "S1", "site_id": site["id"]},
        headers=op,
    )
    assert mapped.status_code == 200, mapped.text

    helios.rotate("helios-key-rotated-98765")
    _poll(account["id"])
    before = client.get(f"/api/v1/networks/{account['id']}", headers=op).json()
    assert (before["status"], before["sessions"], before["chargers"]) == ("reauth-needed", 1, 1)
    with session_scope() as db:
        stored = db.get(NetworkAccount, account["id"]).credentials_enc  # type: ignore[union-attr]

    wrong = client.put(url, json={"credentials": {"api_key": "not-the-new-key"}}, headers=op)
    assert wrong.status_code == 422 and wrong.json()["error"]["message"].startswith("credentials:")
    missing = client.put(url, json={"credentials": {}}, headers=op)
    assert (
        missing.status_code == 422 and missing.json()["error"]["message"] == "credentials.api_key: required"
    )
    foreign = client.put(url, json={"credentials": helios.credentials()}, headers=other)
    assert foreign.status_code == 404
    with session_scope() as db:
        user = db.exec(select(User).where(User.role == Role.DRIVER)).first()
        assert user is not None
    assert (
        client.put(url, json={"credentials": helios.credentials()}, headers=key_of(user.email)).status_code
        == 403
    )
    with session_scope() as db:
        row = db.get(NetworkAccount, account["id"])
        assert row is not None and row.credentials_enc == stored and row.status == "reauth-needed"

    good = client.put(url, json={"credentials": helios.credentials()}, headers=op)
    assert good.status_code == 200, good.text
    out = good.json()
    assert (out["id"], out["status"], out["sessions"], out["chargers"]) == (account["id"], "pending", 1, 1)
    assert "helios-key-rotated-98765" not in good.text
    with session_scope() as db:
        row = db.get(NetworkAccount, account["id"])
        assert row is not None and row.next_poll_utc is not None and row.credentials_enc != stored
        assert "helios-key-rotated-98765" not in (row.credentials_enc or "")
        assert decrypt_credentials(row.credentials_enc or "") == {"api_key": "helios-key-rotated-98765"}
        trail = db.exec(select(AuditEvent).where(AuditEvent.action == "network.credentials_replaced")).all()
        assert len(trail) == 1 and "rotated" not in str(trail[0].changes)
    _poll(account["id"], NOW.replace(hour=13))
    after = client.get(f"/api/v1/networks/{account['id']}", headers=op).json()
    assert (after["status"], after["sessions"], after["chargers"]) == ("connected", 1, 1)
    locations = client.get(f"/api/v1/networks/{account['id']}/locations", headers=op).json()
    assert [(loc["location_id"], loc["site_id"]) for loc in locations] == [("S1", site["id"])]
    everything = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert "helios-key-rotated-98765" not in everything and "not-the-new-key" not in everything


def test_a_poll_with_the_old_credentials_cannot_undo_a_replacement(
    client: TestClient, helios: FakeHelios
) -> None:
    """A poll loads the credentials, the operator replaces them, then the poll finishes: with the old key's
    refusal it must not mark the new credentials bad, and with success it must not store the old ones back."""
    op = key_of(SONNEN)
    account = client.post(
        "/api/v1/networks",
        json={"network": "helios", "label": "", "credentials": helios.credentials()},
        headers=op,
    ).json()
    url = f"/api/v1/networks/{account['id']}/credentials"
    job = poller._claim_and_load(account["id"], NOW, 60)
    assert job is not None
    helios.rotate("helios-key-new-1")
    assert client.put(url, json={"credentials": helios.credentials()}, headers=op).status_code == 200
    refused = poller._store_failure(job, ReauthRequired("helios", "the key was refused"), NOW)
    assert refused.discarded
    with session_scope() as db:
        row = db.get(NetworkAccount, account["id"])
        assert row is not None and row.status == "pending" and row.next_poll_utc is not None
        assert decrypt_credentials(row.credentials_enc or "") == {"api_key": "helios-key-new-1"}

    job = poller._claim_and_load(account["id"], NOW, 60)
    assert job is not None
    helios.rotate("helios-key-new-2")
    assert client.put(url, json={"credentials": helios.credentials()}, headers=op).status_code == 200
    stale = poller._store(job, [], SessionBatch(sessions=[], state={}, skipped=[]), job.credentials, NOW)
    assert stale.discarded
    with session_scope() as db:
        row = db.get(NetworkAccount, account["id"])
        assert row is not None and decrypt_credentials(row.credentials_enc or "") == {
            "api_key": "helios-key-new-2"
        }


def test_drivers_may_not_use_networks(client: TestClient) -> None:
    with session_scope() as db:
        user = db.exec(select(User).where(User.role == Role.DRIVER)).first()
        assert user is not None
    driver = key_of(user.email)
    assert client.get("/api/v1/networks", headers=driver).status_code == 403


def test_an_id_beyond_the_database_integer_is_a_422(client: TestClient) -> None:
    answer = client.get(f"/api/v1/networks/{2**31}", headers=key_of(SONNEN))
    assert answer.status_code == 422 and answer.json()["error"]["message"].startswith("account_id")
