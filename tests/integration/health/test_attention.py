"""`GET /api/v1/attention` and the landing card's data on SQLite and PostgreSQL: faulted connectors,
offline chargers (not at a planned site), flagged and stuck sessions, each linking to its charger page,
and overdue lifecycle steps (SPV steps, site commissioning) linking to where they are done;
another tenant's items never shown; retired chargers left out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.api import build_api
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargingSession, Connector, SessionSource, Site
from pipelet_app.portals.operator.attention_view import attention_rows
from tests.integration.api.onboarding_helpers import NORTH, SONNEN, key_of


@pytest.fixture
def client(demo: dict) -> Iterator[TestClient]:
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        yield test_client


def _charger(db, cp_id: str) -> Charger:
    return db.exec(select(Charger).where(Charger.charge_point_id == cp_id)).one()


@pytest.mark.dates
def test_attention_lists_what_needs_fixing_with_links(client: TestClient) -> None:
    now = utcnow()
    with session_scope() as db:
        one, two, three = (_charger(db, cp) for cp in ("SON-CP-001", "SON-CP-002", "SON-CP-003"))
        for c in (one, two, three):
            c.is_online = True
            db.add(c)
        db.add(Connector(charger_id=one.id, connector_id=7, status="Faulted", error_code="GroundFailure"))
        two.is_online = False
        db.add(two)
        three.is_online = False
        three.retired_at = now  # retired: nothing about it is listed
        db.add(three)
        db.add(
            ChargingSession(
                transaction_id="ATT-FLAG",
                station_id="SON-CP-001",
                source=SessionSource.OCPP_WALLBOX,
                charger_id=one.id,
                start_utc=now - timedelta(hours=2),
                end_utc=now,
                review_pending=True,
                flags="register_jump",
            )
        )
        db.add(
            ChargingSession(
                transaction_id="ATT-STUCK",
                station_id="SON-CP-001",
                source=SessionSource.OCPP_WALLBOX,
                charger_id=one.id,
                start_utc=now - timedelta(hours=30),
            )
        )
        db.add(
            ChargingSession(
                transaction_id="ATT-RUNNING",
                station_id="SON-CP-001",
                source=SessionSource.OCPP_WALLBOX,
                charger_id=one.id,
                start_utc=now - timedelta(hours=1),
            )
        )
        db.commit()
    body = client.get("/api/v1/attention", headers=key_of(SONNEN)).json()
    kinds = {(i["kind"], i["charge_point_id"]) for i in body["items"]}
    assert ("faulted", "SON-CP-001") in kinds and ("offline", "SON-CP-002") in kinds
    assert not any(cp == "SON-CP-003" for _, cp in kinds)
    whats = " ".join(i["what"] for i in body["items"])
    assert "ATT-FLAG" in whats and "ATT-STUCK" in whats and "ATT-RUNNING" not in whats
    assert all(
        i["link"] == f"/operator/chargers/{i['charge_point_id']}"
        for i in body["items"]
        if i["kind"] != "overdue"
    )
    assert body["counts"]["flagged"] == 1 and body["counts"]["stuck"] == 1
    north = client.get("/api/v1/attention", headers=key_of(NORTH)).json()
    assert not any(i["charge_point_id"].startswith("SON-") for i in north["items"])

    with session_scope() as db:  # an offline charger at a site still being built is not an alarm
        site = db.get(Site, _charger(db, "SON-CP-002").site_id)
        site.lifecycle_state = "construction"
        db.add(site)
        db.commit()
    body = client.get("/api/v1/attention", headers=key_of(SONNEN)).json()
    assert ("offline", "SON-CP-002") not in {(i["kind"], i["charge_point_id"]) for i in body["items"]}
    assert client.get("/api/v1/attention", headers=key_of("fleet@acme.demo")).status_code == 403

    from pipelet_app.auth import Principal
    from pipelet_app.db.models import User

    with session_scope() as db:
        principal = Principal.of(db.exec(select(User).where(User.email == SONNEN)).one())
        rows = attention_rows(db, principal)
    assert rows["counts"]["stuck"] == "1" and rows["items"][0]["link"].startswith("/operator/chargers/")


@pytest.mark.dates
def test_overdue_lifecycle_steps_are_listed_until_done(client: TestClient) -> None:
    from datetime import date

    from pipelet_app.db.models import Spv, SpvLifecycleStep

    today = utcnow().date()
    with session_scope() as db:
        sonnen_tenant = _charger(db, "SON-CP-001").tenant_id
        north_tenant = _charger(db, "NW-CP-001").tenant_id
        spv = Spv(sponsor_tenant_id=sonnen_tenant, name="Attention Solar I LLC", formed_year=today.year)
        other = Spv(sponsor_tenant_id=north_tenant, name="Northwind Other LLC", formed_year=today.year)
        db.add(spv)
        db.add(other)
        db.flush()

        def step(owner_spv: Spv, key: str, due: date, done: bool = False) -> None:
            db.add(
                SpvLifecycleStep(
                    spv_id=owner_spv.id,
                    step_key=key,
                    phase="operations",
                    title=f"step {key}",
                    owner="Sponsor",
                    due=due,
                    done_on=due if done else None,
                )
            )

        step(spv, "late", today - timedelta(days=1))
        step(spv, "late-but-done", today - timedelta(days=3), done=True)
        step(spv, "due-tomorrow", today + timedelta(days=1))
        step(other, "other-tenant-late", today - timedelta(days=5))
        site = db.get(Site, _charger(db, "SON-CP-001").site_id)
        site.lifecycle_state = "construction"
        site.commissioning_date = today - timedelta(days=2)
        db.add(site)
        db.commit()
        site_id, site_name = site.id, site.name
    body = client.get("/api/v1/attention", headers=key_of(SONNEN)).json()
    overdue = [i for i in body["items"] if i["kind"] == "overdue"]
    whats = {i["what"] for i in overdue}
    assert "step late (Sponsor)" in whats
    assert not any("late-but-done" in w or "due-tomorrow" in w or "other-tenant" in w for w in whats)
    site_item = next(i for i in overdue if i["link"] == f"/operator/sites/{site_id}")
    assert site_item["site"] == site_name and "construction" in site_item["what"]
    assert all(i["link"] in ("/operator/spvs", f"/operator/sites/{site_id}") for i in overdue)
    assert body["counts"]["overdue"] == len(overdue)
    north = client.get("/api/v1/attention", headers=key_of(NORTH)).json()
    assert "step other-tenant-late (Sponsor)" in {i["what"] for i in north["items"]}
    assert "step late (Sponsor)" not in {i["what"] for i in north["items"]}

    with session_scope() as db:  # done, and the site operating: both leave the list
        row = db.exec(select(SpvLifecycleStep).where(SpvLifecycleStep.step_key == "late")).one()
        row.done_on = today
        db.add(row)
        site = db.get(Site, site_id)
        site.lifecycle_state = "operating"
        db.add(site)
        db.commit()
    body = client.get("/api/v1/attention", headers=key_of(SONNEN)).json()
    after = {i["what"] for i in body["items"] if i["kind"] == "overdue"}
    assert "step late (Sponsor)" not in after and not any("commissioning" in w for w in after)


@pytest.mark.dates
def test_the_card_words_each_item_in_the_readers_language(client: TestClient) -> None:
    """The console's card in German: a fault, an offline charger, a flagged and a stuck session, a site
    past its commissioning date, each in German words (they were the service's English sentences:
    "connector 7: Faulted GroundFailure", "offline", "... open", "commissioning due, still ...");
    the API keeps its English `what`."""
    from pipelet_app.auth import Principal
    from pipelet_app.db.models import User
    from pipelet_app.i18n.formatting import in_locale
    from pipelet_app.portals.operator.attention_view import attention_items

    now = utcnow()
    with session_scope() as db:
        one, two = _charger(db, "SON-CP-001"), _charger(db, "SON-CP-002")
        one.is_online, two.is_online = True, False
        db.add_all([one, two])
        db.add(Connector(charger_id=one.id, connector_id=7, status="Faulted", error_code="GroundFailure"))
        for tx, end, pending in (("ATT-DE-FLAG", now, True), ("ATT-DE-STUCK", None, False)):
            db.add(
                ChargingSession(
                    transaction_id=tx,
                    station_id="SON-CP-001",
                    source=SessionSource.OCPP_WALLBOX,
                    charger_id=one.id,
                    start_utc=now - timedelta(days=3),
                    end_utc=end,
                    review_pending=pending,
                )
            )
        site = db.get(Site, one.site_id)
        site.lifecycle_state, site.commissioning_date = "construction", (now - timedelta(days=10)).date()
        db.add(site)
        db.commit()
        principal = Principal.of(db.exec(select(User).where(User.email == SONNEN)).one())
        with in_locale("de"):
            german = {(i["kind"], i["what"]) for i in attention_items(db, principal)["items"]}
        english = {(i["kind"], i["what"]) for i in attention_items(db, principal)["items"]}
    assert ("faulted", "Anschluss 7: Störung · Erdschluss") in german, german
    assert ("offline", "Nicht verbunden") in german
    assert ("flagged", "ATT-DE-FLAG: zu prüfen") in german
    assert ("stuck", "ATT-DE-STUCK noch offen") in german
    assert ("overdue", "Inbetriebnahme fällig, noch: Im Bau") in german
    assert ("faulted", "Connector 7: Fault · Ground fault") in english
    body = client.get("/api/v1/attention", headers=key_of(SONNEN)).json()
    fault = next(i for i in body["items"] if i["kind"] == "faulted")
    assert fault["what"] == "connector 7: Faulted GroundFailure"
