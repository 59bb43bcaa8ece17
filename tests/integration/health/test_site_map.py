"""The sites map's data on SQLite and PostgreSQL: each of the caller's sites once, with the worst state
of its unretired chargers by the charger list's own rule; another tenant's sites never; fleet managers
refused."""

from __future__ import annotations

import pytest
from sqlmodel import select

from pipelet_app.auth import Forbidden, Principal
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, Connector, Site, User
from pipelet_app.operations.site_map import site_states
from tests.integration.api.onboarding_helpers import NORTH, SONNEN


def _principal(db, email: str) -> Principal:
    return Principal.of(db.exec(select(User).where(User.email == email)).one())


def test_each_site_shows_its_worst_charger(demo: dict) -> None:
    with session_scope() as db:
        me = _principal(db, SONNEN)
        calm = Site(tenant_id=me.tenant_id, name="Ruhig", latitude=48.1, longitude=11.6)
        broken = Site(tenant_id=me.tenant_id, name="Kaputt", latitude=52.5, longitude=13.4)
        empty = Site(tenant_id=me.tenant_id, name="Leer")
        db.add_all([calm, broken, empty])
        db.flush()
        ok = Charger(charge_point_id="MAP-OK", tenant_id=me.tenant_id, site_id=calm.id, is_online=True)
        bad = Charger(charge_point_id="MAP-BAD", tenant_id=me.tenant_id, site_id=broken.id, is_online=True)
        gone = Charger(
            charge_point_id="MAP-GONE",
            tenant_id=me.tenant_id,
            site_id=calm.id,
            is_online=False,
            retired_at=utcnow(),  # retired: does not make the calm site look offline
        )
        db.add_all([ok, bad, gone])
        db.flush()
        db.add(Connector(charger_id=ok.id, connector_id=1, status="Available"))
        db.add(Connector(charger_id=bad.id, connector_id=1, status="Charging"))
        db.add(Connector(charger_id=bad.id, connector_id=2, status="Faulted", error_code="GroundFailure"))
        db.commit()
        mine = {s["name"]: s for s in site_states(db, me)}
        theirs = {s["name"] for s in site_states(db, _principal(db, NORTH))}
        with pytest.raises(Forbidden):
            site_states(db, _principal(db, "fleet@acme.demo"))
    assert mine["Ruhig"]["state"] == "Available" and mine["Ruhig"]["chargers"] == 1
    assert mine["Kaputt"]["state"] == "Faulted" and mine["Kaputt"]["latitude"] == 52.5
    assert mine["Leer"]["state"] == "Unknown" and mine["Leer"]["latitude"] is None
    assert not {"Ruhig", "Kaputt", "Leer"} & theirs


def test_a_charger_without_connectors_and_an_offline_one_count_by_their_own_state(demo: dict) -> None:
    """The states come from chargers and connectors grouped in the database: a charger that has no
    connector row yet still counts (its own status), and an offline charger makes its site Offline
    whatever its connectors last said."""
    with session_scope() as db:
        me = _principal(db, SONNEN)
        bare = Site(tenant_id=me.tenant_id, name="Ohne Stecker")
        dark = Site(tenant_id=me.tenant_id, name="Dunkel")
        db.add_all([bare, dark])
        db.flush()
        db.add(
            Charger(
                charge_point_id="MAP-BARE",
                tenant_id=me.tenant_id,
                site_id=bare.id,
                status="Unavailable",
                is_online=True,
            )
        )
        db.add(
            Charger(
                charge_point_id="MAP-BARE-2",
                tenant_id=me.tenant_id,
                site_id=bare.id,
                status="",
                is_online=True,
            )
        )
        off = Charger(charge_point_id="MAP-DARK", tenant_id=me.tenant_id, site_id=dark.id, is_online=False)
        db.add(off)
        db.flush()
        db.add(Connector(charger_id=off.id, connector_id=1, status="Charging"))
        db.commit()
        mine = {s["name"]: s for s in site_states(db, me)}
    assert mine["Ohne Stecker"]["state"] == "Unavailable" and mine["Ohne Stecker"]["chargers"] == 2
    assert mine["Dunkel"]["state"] == "Offline" and mine["Dunkel"]["chargers"] == 1
