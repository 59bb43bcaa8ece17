"""A driver's own sessions: date filter, solar share per session and month, detail, CSV (page and API)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.api import build_api
from pipelet_app.auth import Forbidden, InvalidInput, NotFound
from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Driver,
    MeterValue,
    ReimbursementRate,
    SessionSource,
    User,
)
from pipelet_app.portals.driver.data import driver_overview, session_detail
from pipelet_app.services import driver_sessions
from tests.integration.api.charger_facts import principal
from tests.integration.api.test_api_auth import bearer, key_for

# Far from the demo's own sessions (the last four weeks), so these are the only ones in their months.
T0 = datetime(2031, 3, 30, 22, 0, tzinfo=UTC)


@pytest.fixture
def mine(demo: dict) -> dict[str, int]:
    """Three sessions of driver@acme.demo: OCPP with measured solar and readings, PV-wallbox, and a held
    one; and a rate for OCPP-wallbox energy in the driver's fleet."""
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == "driver@acme.demo")).one()
        driver = db.exec(select(Driver).where(Driver.user_id == user.id)).one()
        ocpp = ChargingSession(
            transaction_id="mine-ocpp",
            station_id="SON-CP-001",
            source=SessionSource.OCPP_WALLBOX,
            driver_id=driver.id,
            start_utc=T0,
            end_utc=T0 + timedelta(minutes=90),
            energy_wh=10_000,
            solar_wh=4_000,
        )
        pv = ChargingSession(
            transaction_id="mine-pv",
            station_id="IQEVC-1",
            source=SessionSource.PV_INVERTER,
            driver_id=driver.id,
            start_utc=T0 + timedelta(days=2),  # April
            end_utc=T0 + timedelta(days=2, hours=1),
            energy_wh=5_000,
        )
        held = ChargingSession(
            transaction_id="mine-held",
            station_id="SON-CP-001",
            source=SessionSource.OCPP_WALLBOX,
            driver_id=driver.id,
            start_utc=T0 + timedelta(days=2, hours=3),
            energy_wh=300_000,
            review_pending=True,
        )
        db.add_all([ocpp, pv, held])
        db.flush()
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "SON-CP-001")).one()
        for minutes, wh in ((0, 0), (30, 3_000), (90, 10_000)):
            db.add(
                MeterValue(
                    charger_id=charger.id,
                    session_id=ocpp.id,
                    timestamp=T0 + timedelta(minutes=minutes),
                    value=wh,
                )
            )
        rate = db.exec(
            select(ReimbursementRate).where(
                ReimbursementRate.fleet_id == driver.fleet_id, ReimbursementRate.source == "ocpp-wallbox"
            )
        ).first() or ReimbursementRate(fleet_id=driver.fleet_id, source="ocpp-wallbox")
        rate.rate_per_kwh = Decimal("0.3012")
        db.add(rate)
        return {"ocpp": ocpp.id, "pv": pv.id, "held": held.id}


def test_period_filter_solar_share_per_session_and_month(mine: dict[str, int]) -> None:
    driver = principal("driver@acme.demo")
    with session_scope() as db:
        view = driver_overview(db, driver, "2031-03-30", "2031-04-02")
        march = driver_overview(db, driver, "2031-03-30", "2031-03-31")
        with pytest.raises(InvalidInput, match=r"^period: "):
            driver_overview(db, driver, "2031-04-02", "2031-03-30")
    # newest first: the held one (no share until released), the PV-wallbox one (the brand gives no
    # PV/grid split: all solar, estimated "*"), the OCPP one with 4 of 10 kWh measured solar
    assert [s["solar_share"] for s in view["sessions"]] == ["—", "100 % *", "40 %"]
    assert [s["id"] for s in march["sessions"]] == [str(mine["ocpp"])]
    # per month: the held 300 kWh count neither energy nor solar
    assert [(m["month"], m["energy_kwh"], m["solar_kwh"], m["solar_share"]) for m in view["months"]] == [
        ("2031-03", "10.0", "4.0", "40 %"),
        ("2031-04", "5.0", "5.0", "100 %"),
    ]


def test_session_detail_is_the_drivers_own_with_curve_split_and_money(mine: dict[str, int]) -> None:
    with session_scope() as db:
        detail = session_detail(db, principal("driver@acme.demo"), str(mine["ocpp"]))
        held = session_detail(db, principal("driver@acme.demo"), str(mine["held"]))
        for email, error in (
            ("driver@globex.demo", NotFound),
            ("fleet@acme.demo", Forbidden),
            ("operator@sonnenstrom.demo", Forbidden),
        ):
            with pytest.raises(error):
                session_detail(db, principal(email), str(mine["ocpp"]))
        with pytest.raises(NotFound):
            session_detail(db, principal("driver@acme.demo"), "../1")
    s = detail["summary"]
    assert (s["duration"], s["energy_kwh"], s["solar_kwh"], s["grid_kwh"]) == (
        "1 h 30 min",
        "10.0",
        "4.0",
        "6.0",
    )
    assert (s["reimbursement"], s["rate"]) == ("3.01 EUR", "0.3012 EUR/kWh")  # 10 kWh x 0.3012, half up
    assert [p["kw"] for p in detail["curve"]] == [6.0, 7.0]
    assert held["summary"]["held"] == "1" and held["summary"]["reimbursement"] == "—"


def test_csv_for_an_expense_claim_through_the_api(mine: dict[str, int]) -> None:
    with TestClient(build_api(), raise_server_exceptions=False) as client:
        answer = client.get(
            "/api/v1/me/sessions.csv?from=2031-03-01&to=2031-03-31",
            headers=bearer(key_for("driver@acme.demo")),
        )
        refused = client.get("/api/v1/me/sessions.csv", headers=bearer(key_for("fleet@acme.demo")))
        bad = client.get(
            "/api/v1/me/sessions.csv?from=31.03.2031", headers=bearer(key_for("driver@acme.demo"))
        )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["transaction_id"], r["energy_wh"], r["solar_wh"], r["solar_share"]) for r in rows] == [
        ("mine-ocpp", "10000", "4000", "0.4000")
    ]
    assert refused.status_code == 403
    assert bad.status_code == 422 and "period" in bad.text
    with session_scope() as db:  # another driver's file holds none of these
        other = driver_sessions.sessions_csv(db, principal("driver@globex.demo"), "2031-03-01", "2031-04-30")
    assert "mine-" not in other
