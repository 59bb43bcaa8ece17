"""Session times on driver and fleet pages are shown in the zone of the place where they happened."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Driver,
    PvAccount,
    PvWallbox,
    SessionSource,
    User,
)
from pipelet_app.i18n.formatting import when
from pipelet_app.portals.driver.data import driver_overview
from pipelet_app.services.zones import session_zones
from tests.integration.api.charger_facts import principal

NOON_JULY = datetime(2031, 7, 15, 12, 0, tzinfo=UTC)


def _session(
    tx: str, station: str, source: SessionSource, driver_id: int, charger_id: int | None
) -> ChargingSession:
    return ChargingSession(
        transaction_id=tx,
        station_id=station,
        source=source,
        driver_id=driver_id,
        charger_id=charger_id,
        start_utc=NOON_JULY,
        energy_wh=1000,
    )


def test_ocpp_at_the_site_pv_at_home_public_in_utc(demo: dict) -> None:
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == "driver@acme.demo")).one()
        driver = db.exec(select(Driver).where(Driver.user_id == user.id)).one()
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "SON-CP-001")).one()
        account = PvAccount(driver_id=driver.id, brand="zonetest")
        db.add(account)
        db.flush()
        db.add(
            PvWallbox(
                account_id=account.id,
                system_id="sys-1",
                serial="WB-NY-1",
                device_id="dev-1",
                system_timezone="America/New_York",
            )
        )
        sessions = [
            _session("zone-ocpp", charger.charge_point_id, SessionSource.OCPP_WALLBOX, driver.id, charger.id),
            _session("zone-pv", "WB-NY-1", SessionSource.PV_INVERTER, driver.id, None),
            _session("zone-public", "SOMEWHERE", SessionSource.PUBLIC, driver.id, None),
        ]
        for s in sessions:
            db.add(s)
        db.flush()
        ids = {s.transaction_id: s.id for s in sessions}
    with session_scope() as db:
        zones = session_zones(db, ids.values())
        overview = driver_overview(db, principal("driver@acme.demo"), "2031-07-01", "2031-07-31")
    assert zones[ids["zone-ocpp"]] == "Europe/Berlin"
    assert zones[ids["zone-pv"]] == "America/New_York"
    assert zones[ids["zone-public"]] == "UTC"
    starts = {(s["station"], s["start"]) for s in overview["sessions"]}
    assert ("SON-CP-001", "2031-07-15 14:00 CEST") in starts
    assert ("WB-NY-1", "2031-07-15 08:00 EDT") in starts
    assert ("SOMEWHERE", "2031-07-15 12:00 UTC") in starts


def test_an_unknown_zone_name_falls_back_to_utc() -> None:
    assert when(NOON_JULY, "Mars/Olympus") == "2031-07-15 12:00 UTC"
    assert when(NOON_JULY, "Europe/Berlin") == "2031-07-15 14:00 CEST"
