"""Live pages: the fingerprints move exactly when what a page shows moves, and the hub wakes followers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from pipelet_app.auth import Forbidden, NotFound, Principal
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargingSession, Connector, Driver, Site, User
from pipelet_app.portals import live
from pipelet_app.portals.driver.data import live_key as driver_key
from pipelet_app.portals.fleet.data import live_key as fleet_key
from pipelet_app.portals.operator.charger_data import live_key as charger_key
from pipelet_app.portals.operator.data import live_key as operator_key
from pipelet_app.services.live_versions import read_versions


def _principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


def _charger(cp_id: str) -> Charger:
    with session_scope() as db:
        return db.exec(select(Charger).where(Charger.charge_point_id == cp_id)).one()


def test_keys_check_role_and_tenant(demo: dict) -> None:
    operator, other, fleet = (
        _principal(e) for e in ("operator@sonnenstrom.demo", "operator@northwind.demo", "fleet@acme.demo")
    )
    with session_scope() as db:
        assert operator_key(db, operator) == ("operator", operator.tenant_id)
        assert charger_key(db, operator, "SON-CP-002") == ("charger", _charger("SON-CP-002").id)
        assert fleet_key(db, fleet) == ("fleet", fleet.tenant_id)
        with pytest.raises(NotFound):
            charger_key(db, other, "SON-CP-002")
        with pytest.raises(Forbidden):
            operator_key(db, fleet)
        with pytest.raises(Forbidden):
            fleet_key(db, operator)


def test_fingerprints_move_with_status_connectors_and_sessions_only(demo: dict) -> None:
    operator, other = _principal("operator@sonnenstrom.demo"), _principal("operator@northwind.demo")
    charger = _charger("SON-CP-002")
    keys = [("charger", charger.id), ("operator", operator.tenant_id), ("operator", other.tenant_id)]
    before = read_versions(keys)
    assert read_versions(keys) == before  # nothing changed: nothing moves

    with session_scope() as db:  # a heartbeat only: not shown live, so nothing moves
        row = db.get(Charger, charger.id)
        row.last_seen_at = utcnow()
        db.add(row)
    assert read_versions(keys) == before

    with session_scope() as db:
        row = db.get(Charger, charger.id)
        row.is_online = not row.is_online
        db.add(row)
    online = read_versions(keys)
    assert online[keys[0]] != before[keys[0]] and online[keys[1]] != before[keys[1]]
    assert online[keys[2]] == before[keys[2]]  # another tenant's pages stay still

    with session_scope() as db:
        connector = db.exec(select(Connector).where(Connector.charger_id == charger.id)).first()
        connector.status, connector.error_code = "Faulted", "GroundFailure"
        connector.updated_at = utcnow() + timedelta(seconds=1)
        db.add(connector)
    faulted = read_versions(keys)
    assert faulted[keys[0]] != online[keys[0]] and faulted[keys[1]] != online[keys[1]]

    with session_scope() as db:
        db.add(
            ChargingSession(
                transaction_id="live-1",
                station_id="SON-CP-002",
                source="ocpp-wallbox",
                charger_id=charger.id,
                start_utc=utcnow(),
            )
        )
    started = read_versions(keys)
    assert started[keys[0]] != faulted[keys[0]]
    with session_scope() as db:
        session = db.exec(select(ChargingSession).where(ChargingSession.transaction_id == "live-1")).one()
        session.energy_wh, session.updated_at = 1234.0, utcnow() + timedelta(seconds=2)
        db.add(session)
    assert read_versions(keys)[keys[0]] != started[keys[0]]


def test_a_driver_s_pages_move_with_their_own_sessions_only(demo: dict) -> None:
    """("driver", id): the driver's running session's energy moves it; another driver's does not."""
    dana = _principal("driver@acme.demo")
    with session_scope() as db:
        key = driver_key(db, dana)
        mine = db.exec(select(Driver).where(Driver.user_id == dana.user_id)).one()
        other = db.exec(select(Driver).where(Driver.id != mine.id)).first()
        assert key == ("driver", mine.id) and other is not None
        with pytest.raises(Forbidden):
            driver_key(db, _principal("fleet@acme.demo"))
    keys = [key, ("driver", other.id)]
    before = read_versions(keys)
    with session_scope() as db:
        db.add(
            ChargingSession(
                transaction_id="live-driver-1",
                station_id="SON-CP-001",
                source="ocpp-wallbox",
                driver_id=mine.id,
                start_utc=utcnow(),
            )
        )
    started = read_versions(keys)
    assert started[keys[0]] != before[keys[0]] and started[keys[1]] == before[keys[1]]
    with session_scope() as db:
        found = select(ChargingSession).where(ChargingSession.transaction_id == "live-driver-1")
        session = db.exec(found).one()
        session.energy_wh, session.updated_at = 2500.0, utcnow() + timedelta(seconds=2)
        db.add(session)
    metered = read_versions(keys)
    assert metered[keys[0]] != started[keys[0]] and metered[keys[1]] == before[keys[1]]


def test_hub_wakes_a_follower_on_change_and_ends_it_when_superseded(monkeypatch) -> None:
    versions = {("charger", 1): "a"}
    reads: list[list] = []

    def read(keys):
        reads.append(keys)
        return {k: versions.get(k, "") for k in keys}

    monkeypatch.setattr(live, "POLL_S", 0.01)

    async def connected(_token: str) -> bool:
        return True

    monkeypatch.setattr(live, "connected", connected)

    async def scenario() -> list[str]:
        hub = live.Hub(read)
        seen: list[str] = []
        generation = hub.claim("tab", "charger")

        async def follow() -> None:
            async for _ in hub.changes(("charger", 1), "tab", generation):
                seen.append(versions[("charger", 1)])

        task = asyncio.create_task(follow())
        await asyncio.sleep(0.1)
        versions[("charger", 1)] = "b"
        await asyncio.sleep(0.1)
        hub.claim("tab", "operator")  # the tab opened another live page
        versions[("charger", 1)] = "c"
        await asyncio.wait_for(task, 5)
        assert not hub.watching  # the poller stops reading when nobody follows
        return seen

    assert asyncio.run(scenario()) == ["a", "b"]
    assert all(keys == [("charger", 1)] for keys in reads)  # one grouped read per tick


def test_a_follower_that_knows_what_the_page_shows_reloads_only_on_a_change(monkeypatch) -> None:
    versions = {("charger", 1): "a"}
    monkeypatch.setattr(live, "POLL_S", 0.01)

    async def connected(_token: str) -> bool:
        return True

    monkeypatch.setattr(live, "connected", connected)

    async def scenario() -> list[str]:
        hub = live.Hub(lambda keys: {k: versions[k] for k in keys})
        seen: list[str] = []
        generation = hub.claim("tab", "charger")

        async def follow() -> None:
            async for _ in hub.changes(("charger", 1), "tab", generation, seen="a"):
                seen.append(versions[("charger", 1)])

        task = asyncio.create_task(follow())
        await asyncio.sleep(0.1)  # several polls of an unchanged "a": no reload
        versions[("charger", 1)] = "b"
        await asyncio.sleep(0.1)
        hub.release("tab", "charger")  # the page was left
        versions[("charger", 1)] = "c"
        await asyncio.wait_for(task, 5)
        return seen

    assert asyncio.run(scenario()) == ["b"]


def _tenant_and_charger_keys(operator: Principal, charger: Charger) -> list:
    return [("operator", operator.tenant_id), ("charger", charger.id)]


def test_each_kind_of_change_a_live_page_shows_moves_the_operator_fingerprint(demo: dict) -> None:
    """The counters of migration 0035: status, online flag, connector, a session starting, its energy
    while running, its stop, a review once finished, a charger's and a site's rename, a claim; while a
    heartbeat and a running session's timestamp alone move nothing (every page would reload each tick)."""
    operator, other = _principal("operator@sonnenstrom.demo"), _principal("operator@northwind.demo")
    charger = _charger("SON-CP-002")
    keys = [*_tenant_and_charger_keys(operator, charger), ("operator", other.tenant_id)]

    def change(edit) -> dict:
        before = read_versions(keys)
        with session_scope() as db:
            edit(db)
        after = read_versions(keys)
        assert after[keys[2]] == before[keys[2]], "another tenant's pages moved"
        return {k: after[k] != before[k] for k in keys[:2]}

    def charger_row(db):
        return db.get(Charger, charger.id)

    def session_row(db):
        return db.exec(select(ChargingSession).where(ChargingSession.transaction_id == "live-kinds")).one()

    def setattrs(row, **values):
        for name, value in values.items():
            setattr(row, name, value)
        return row

    both = {keys[0]: True, keys[1]: True}
    still = {keys[0]: False, keys[1]: False}
    assert change(lambda db: db.add(setattrs(charger_row(db), last_seen_at=utcnow()))) == still
    assert change(lambda db: db.add(setattrs(charger_row(db), status="Unavailable"))) == both
    assert change(lambda db: db.add(setattrs(charger_row(db), is_online=not charger.is_online))) == both
    assert change(lambda db: db.add(setattrs(charger_row(db), display_name="Gate 2"))) == both
    connector = select(Connector).where(Connector.charger_id == charger.id)
    assert change(lambda db: db.add(setattrs(db.exec(connector).first(), status="Faulted"))) == both
    started = ChargingSession(
        transaction_id="live-kinds",
        station_id="SON-CP-002",
        source="ocpp-wallbox",
        charger_id=charger.id,
        start_utc=utcnow(),
    )
    assert change(lambda db: db.add(started)) == both
    assert change(lambda db: db.add(setattrs(session_row(db), energy_wh=2_500.0))) == both
    # a MeterValues that repeats the register: the running session's timestamp only, nothing shown
    assert change(lambda db: db.add(setattrs(session_row(db), updated_at=utcnow() + timedelta(1)))) == still
    stop = {"end_utc": utcnow(), "meter_stop_wh": 2_600.0, "energy_wh": 2_600.0}
    assert change(lambda db: db.add(setattrs(session_row(db), **stop))) == both
    assert change(lambda db: db.add(setattrs(session_row(db), review_pending=True, flags="jump"))) == both
    assert change(lambda db: db.delete(session_row(db))) == both

    with session_scope() as db:
        site_id = charger_row(db).site_id
    site_renamed = change(lambda db: db.add(setattrs(db.get(Site, site_id), name="Renamed depot")))
    assert site_renamed == both  # the site's name is on the list's rows; its zone on the charger page

    with session_scope() as db:  # an auto-registered charger nobody claimed yet
        db.add(Charger(charge_point_id="LIVE-UNCLAIMED"))
    assert change(lambda db: None) == still
    claim = select(Charger).where(Charger.charge_point_id == "LIVE-UNCLAIMED")
    claimed = change(lambda db: db.add(setattrs(db.exec(claim).one(), tenant_id=operator.tenant_id)))
    assert claimed[keys[0]] and not claimed[keys[1]]


def test_the_triggers_cover_every_column_of_the_rows_they_follow() -> None:
    """A column added to chargers, sites, connectors or sessions must be in migration 0035's lists (or
    a later migration's) or excluded here with its reason, else changing it would not move live pages."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[3] / "alembic" / "versions" / "0035_live_versions.py"
    spec = importlib.util.spec_from_file_location("live_versions_migration", path)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    def columns(model) -> set[str]:
        return set(model.__table__.columns.keys()) - {"id", "live_version"}

    assert set(migration.CHARGER_COLUMNS) == columns(Charger) - {"last_seen_at"}  # heartbeats: not shown
    assert set(migration.SITE_COLUMNS) == columns(Site)
    assert set(migration.CONNECTOR_COLUMNS) == columns(Connector)
    # a running session's meter update: its energy is read directly (services/live_versions._running)
    metered = {"energy_wh", "energy_reported_wh", "updated_at"}
    # network_site_id (migration 0037): the site a network session counts for in reports, which are no
    # live page; a session with a charger counts for that charger's site whatever it says.
    report_only = {"network_site_id"}
    # charging_state(_at) (migration 0041): a 2.0.1 car's suspension, read by the surplus loop; no page
    # shows it, and the loop's decision row (which the energy-flow view follows) records its effect
    loop_only = {"charging_state", "charging_state_at"}
    assert set(migration.SESSION_COLUMNS) == columns(ChargingSession) - metered - report_only - loop_only
