"""Network locations mapped to sites, on SQLite and PostgreSQL: a network session on a charger that is no
Pipelet charger counts for the site the operator mapped its location to, in the site's report (the
PostgreSQL sums kept by triggers and rebuilt when the site's zone changes, and the SQLite path alike),
stored sessions included and later polls too; unmapping takes them out again. Input errors name the
field; another tenant's account or site is 404."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import AuditEvent, ChargingSession, NetworkAccount
from pollers import networks as poller
from tests.fakes.networks import FakeLoop
from tests.integration.api.onboarding_helpers import NORTH, SONNEN, key_of, site_of

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # the fixture's session ended on 1 December
DECEMBER = {"from": "2026-12-01", "to": "2027-01-01", "step": "month"}


def _poll(account_id: int, now: datetime) -> None:
    with session_scope() as db:
        db.get(NetworkAccount, account_id).next_poll_utc = now  # type: ignore[union-attr]
    asyncio.run(poller.poll_network_account(account_id, clock=lambda: now))


@pytest.fixture
def setup(client: TestClient, loop: FakeLoop) -> dict[str, int]:
    """Sonnenstrom's Loop account, polled once, and a new site of theirs with no charger of its own."""
    op = key_of(SONNEN)
    created = client.post(
        "/api/v1/networks",
        json={"network": "loop", "label": "Depot", "credentials": loop.credentials()},
        headers=op,
    )
    assert created.status_code == 201, created.text
    account = created.json()["id"]
    _poll(account, NOW)
    site = client.post("/api/v1/sites", json={"name": "Depot Nord", "timezone": "Europe/Berlin"}, headers=op)
    assert site.status_code == 201, site.text
    return {"account": account, "site": site.json()["id"]}


def _december(client: TestClient, site: int) -> dict:
    answer = client.get(
        "/api/v1/reports/portfolio", params={**DECEMBER, "site_id": site}, headers=key_of(SONNEN)
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["totals"]


def _drill_down(client: TestClient, site: int) -> list[tuple[str, str]]:
    answer = client.get(
        "/api/v1/reports/portfolio/sessions", params={**DECEMBER, "site_id": site}, headers=key_of(SONNEN)
    )
    assert answer.status_code == 200, answer.text
    return sorted((s["transaction_id"].rsplit("-", 1)[1], s["charge_point_id"]) for s in answer.json())


def test_a_mapped_location_counts_for_its_site(client: TestClient, loop: FakeLoop, setup: dict) -> None:
    op, account, site = key_of(SONNEN), setup["account"], setup["site"]
    locations = client.get(f"/api/v1/networks/{account}/locations", headers=op)
    assert locations.status_code == 200, locations.text
    assert locations.json() == [
        {
            "location_id": "site_7Qp2",
            "name": "Depot Nord",
            "chargers": 1,
            "linked_chargers": 0,
            "site_id": None,
            "site": None,
        }
    ]
    assert _december(client, site)["sessions"] == 0  # a network charger that is no Pipelet charger

    mapped = client.put(
        f"/api/v1/networks/{account}/locations",
        json={"location_id": "site_7Qp2", "site_id": site},
        headers=op,
    )
    assert mapped.status_code == 200, mapped.text
    assert (mapped.json()["site_id"], mapped.json()["site"]) == (site, "Depot Nord")
    totals = _december(client, site)
    assert (totals["sessions"], totals["energy_kwh"], totals["revenue"]) == (1, "18.42", {"EUR": "6.450"})
    assert _drill_down(client, site) == [("ses_0001", "chg_91x")]
    # the site's zone changes: PostgreSQL rebuilds the site's sums, the network session among them
    moved = client.patch(f"/api/v1/sites/{site}", json={"timezone": "Europe/London"}, headers=op)
    assert moved.status_code == 200, moved.text
    assert _december(client, site)["sessions"] == 1

    # a later poll brings a session at the same location: it counts at once
    loop.add_session("ses_0002", "2026-12-02T08:00:00+00:00", "2026-12-02T09:00:00+00:00", 5.0)
    _poll(account, NOW + timedelta(hours=1))
    assert _december(client, site)["sessions"] == 2
    assert _drill_down(client, site) == [("ses_0001", "chg_91x"), ("ses_0002", "chg_91x")]

    unmapped = client.put(
        f"/api/v1/networks/{account}/locations",
        json={"location_id": "site_7Qp2", "site_id": None},
        headers=op,
    )
    assert unmapped.status_code == 200 and unmapped.json()["site_id"] is None
    assert _december(client, site)["sessions"] == 0
    _poll(account, NOW + timedelta(hours=2))  # and a poll does not bring them back
    assert _december(client, site)["sessions"] == 0
    with session_scope() as db:
        assert {s.network_site_id for s in db.exec(select(ChargingSession)).all()} == {None}
        trail = db.exec(select(AuditEvent).where(AuditEvent.action == "network.location_site")).all()
        assert [e.changes["site_id"] for e in trail] == [[None, site], [site, None]]  # type: ignore[index]


def test_bad_input_names_the_field(client: TestClient, setup: dict) -> None:
    op, url = key_of(SONNEN), f"/api/v1/networks/{setup['account']}/locations"
    for body, field in [
        ({"location_id": "", "site_id": setup["site"]}, "location_id"),
        ({"location_id": "x" * 201, "site_id": setup["site"]}, "location_id"),
        ({"site_id": setup["site"]}, "location_id"),
        ({"location_id": "site_7Qp2", "site_id": "first"}, "site_id"),
        ({"location_id": "site_7Qp2", "site_id": 0}, "site_id"),
        ({"location_id": "site_7Qp2", "site_id": 2**31}, "site_id"),
    ]:
        answer = client.put(url, json=body, headers=op)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"]["message"].startswith(field), (body, answer.text)
    unknown = client.put(url, json={"location_id": "elsewhere", "site_id": setup["site"]}, headers=op)
    assert unknown.status_code == 422 and unknown.json()["error"]["message"].startswith("location_id")


def test_another_tenants_site_and_account_are_404(client: TestClient, setup: dict) -> None:
    op, north = key_of(SONNEN), key_of(NORTH)
    url = f"/api/v1/networks/{setup['account']}/locations"
    foreign_site = client.put(url, json={"location_id": "site_7Qp2", "site_id": site_of(NORTH)}, headers=op)
    missing_site = client.put(url, json={"location_id": "site_7Qp2", "site_id": 999_999}, headers=op)
    assert foreign_site.status_code == missing_site.status_code == 404
    assert foreign_site.json() == missing_site.json()
    for method, body in (("GET", None), ("PUT", {"location_id": "site_7Qp2", "site_id": site_of(NORTH)})):
        foreign = client.request(method, url, json=body, headers=north)
        missing = client.request(method, "/api/v1/networks/999999/locations", json=body, headers=north)
        assert foreign.status_code == missing.status_code == 404
        assert foreign.json() == missing.json()
    assert client.get(url, headers=op).json()[0]["site_id"] is None  # nothing changed
