"""The solar-charging pages' data layer on both databases: the operator's view and settings form, the
driver's running-session form (times in the site's zone); other tenants, colleagues and roles refused."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from pipelet_app.auth import Forbidden, InvalidInput, NotFound, Principal
from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Driver,
    SessionPreference,
    SessionSource,
    Site,
    SiteEnergyMinute,
    SiteSurplus,
    User,
)
from pipelet_app.db.types import utcnow
from pipelet_app.domain.site_energy import floor_minute
from pipelet_app.portals.driver import surplus_data as driver_data
from pipelet_app.portals.operator import surplus_data


def _principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


def _site(email: str) -> int:
    with session_scope() as db:
        tenant_id = db.exec(select(User.tenant_id).where(User.email == email)).one()
        site = db.exec(select(Site).where(Site.tenant_id == tenant_id).order_by(Site.id)).first()
        assert site is not None
        site.grid_limit_a = 40
        return site.id  # type: ignore[return-value]


def test_operator_view_and_settings(demo: dict) -> None:
    son = _principal("operator@sonnenstrom.demo")
    site_id = _site("operator@sonnenstrom.demo")
    with session_scope() as db:
        db.add(
            SiteEnergyMinute(
                site_id=site_id,
                minute=floor_minute(utcnow()),
                pv_w=4000.0,
                grid_w=500.0,
                battery_w=250.0,
                load_w=1500.0,
                ev_w=3250.0,
            )
        )
    with session_scope() as db:
        view = surplus_data.surplus_view(db, son, site_id)
    assert view["settings"] == {
        "enabled": "off",
        "mode": "pv-only",
        "interval_s": "10",
        "min_soc": "",
        "tariff_source": "none",
        "tariff_region": "de",
        "tariff_status": (
            "no tariff source: “Solar and cheapest hours” plans like “Solar first, grid tops up”"
        ),
    }
    assert view["flows"] == {
        "pv": "4.0",
        "house": "1.5",
        "battery": "0.2",
        "battery_dir": "discharge",
        "cars": "3.2",
        "grid": "0.5",
        "grid_dir": "import",
    }
    assert view["chart"] and view["chart"][-1]["pv"] == 4.0
    with session_scope() as db:
        surplus_data.save_settings(
            db, son, site_id, {"enabled": "on", "mode": "eco-plus", "interval_s": "20"}
        )
        row = db.get(SiteSurplus, site_id)
        assert row is not None and (row.enabled, row.mode, row.interval_s) == (True, "eco-plus", 20)
        with pytest.raises(InvalidInput, match=r"^interval_s:"):
            surplus_data.save_settings(db, son, site_id, {"enabled": "on", "interval_s": "ten"})
        with pytest.raises(InvalidInput, match=r"^mode:"):
            surplus_data.save_settings(db, son, site_id, {"enabled": "on", "mode": "max"})
    nw = _principal("operator@northwind.demo")
    with session_scope() as db, pytest.raises(NotFound):
        surplus_data.surplus_view(db, nw, site_id)
    with session_scope() as db, pytest.raises(NotFound):
        surplus_data.save_settings(db, nw, site_id, {"enabled": "off"})
    with session_scope() as db, pytest.raises(Forbidden):
        surplus_data.surplus_view(db, _principal("driver@acme.demo"), site_id)


def _running(driver_user: str | None, tx: str) -> int:
    with session_scope() as db:
        if driver_user:
            user = db.exec(select(User).where(User.email == driver_user)).one()
            driver = db.exec(select(Driver).where(Driver.user_id == user.id)).one()
        else:
            fleet = db.exec(select(User.tenant_id).where(User.email == "fleet@acme.demo")).one()
            driver = db.exec(
                select(Driver).where(Driver.fleet_id == fleet, Driver.user_id.is_(None))  # type: ignore[union-attr]
            ).first()
        charger = db.exec(select(Charger).order_by(Charger.id)).first()
        session = ChargingSession(
            transaction_id=tx,
            station_id=charger.charge_point_id,
            source=SessionSource.OCPP_WALLBOX,  # type: ignore[union-attr]
            driver_id=driver.id,
            charger_id=charger.id,
            connector_id=1,
            start_utc=utcnow() - timedelta(minutes=5),  # type: ignore[union-attr]
        )
        db.add(session)
        db.flush()
        return session.id  # type: ignore[return-value]


def test_driver_form_in_the_site_zone(demo: dict) -> None:
    session_id = _running("driver@acme.demo", "ocpp16:PORTAL:1")
    colleague = _running(None, "ocpp16:PORTAL:2")
    dana = _principal("driver@acme.demo")
    with session_scope() as db:
        rows = driver_data.running_sessions(db, dana)
    assert [r["transaction_id"] for r in rows] == ["ocpp16:PORTAL:1"]  # not the colleague's
    with session_scope() as db:  # an imported public session without an end is not "charging now"
        driver = db.exec(select(Driver).where(Driver.email == "driver@acme.demo")).one()
        db.add(
            ChargingSession(
                transaction_id="pub-no-end",
                station_id="PUBLIC-1",
                source=SessionSource.PUBLIC,
                driver_id=driver.id,
                start_utc=utcnow() - timedelta(hours=1),
                energy_wh=950_000,
            )
        )
        db.commit()
        assert [r["transaction_id"] for r in driver_data.running_sessions(db, dana)] == ["ocpp16:PORTAL:1"]
    zone = ZoneInfo(rows[0]["zone"])
    local = (
        (utcnow() + timedelta(days=1)).astimezone(zone).replace(hour=8, minute=15, second=0, microsecond=0)
    )
    form = {
        "transaction_id": "ocpp16:PORTAL:1",
        "mode": "pv-only",
        "departure": local.strftime("%Y-%m-%dT%H:%M"),
        "energy_kwh": "7,5",
    }
    with session_scope() as db:
        driver_data.save_preferences(db, dana, form)
        row = db.get(SessionPreference, session_id)
        assert row is not None and (row.mode, row.energy_wh) == ("pv-only", 7500.0)
        assert row.departure_utc == local
        shown = driver_data.running_sessions(db, dana)[0]
    assert (shown["mode"], shown["departure"], shown["energy_kwh"]) == ("pv-only", form["departure"], "7.5")
    with session_scope() as db:
        driver_data.save_preferences(db, dana, {**form, "mode": "site", "departure": "", "energy_kwh": ""})
        row = db.get(SessionPreference, session_id)
        assert row is not None and (row.mode, row.departure_utc, row.energy_wh) == (None, None, None)
    with session_scope() as db, pytest.raises(NotFound):
        driver_data.save_preferences(db, dana, {**form, "transaction_id": "ocpp16:PORTAL:2"})
    with session_scope() as db:
        assert db.get(SessionPreference, colleague) is None
    with session_scope() as db, pytest.raises(InvalidInput, match=r"^energy_wh:"):
        driver_data.save_preferences(db, dana, {**form, "energy_kwh": "lots"})
    with session_scope() as db, pytest.raises(NotFound):
        driver_data.save_preferences(db, _principal("driver@globex.demo"), form)
