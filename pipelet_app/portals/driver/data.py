"""What the driver portal shows: the signed-in driver's own sessions and cards, nothing else."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from pipelet_app.auth import Principal, require
from pipelet_app.clock import utcnow
from pipelet_app.db.models import ChargingSession, Driver, IdToken, Role
from pipelet_app.portals.formatting import kwh, when
from pipelet_app.portals.zones import session_zones


def driver_overview(db: Session, principal: Principal) -> dict:
    require(principal, Role.DRIVER)
    driver = db.exec(select(Driver).where(Driver.user_id == principal.user_id)).first()
    if driver is None:
        return {"sessions": [], "totals": [], "tokens": []}
    sessions = db.exec(
        select(ChargingSession)
        .where(ChargingSession.driver_id == driver.id)
        .order_by(ChargingSession.start_utc.desc())
        .limit(20)
    ).all()
    since = utcnow() - timedelta(days=30)
    totals = db.exec(
        select(ChargingSession.source, func.sum(ChargingSession.energy_wh))
        .where(ChargingSession.driver_id == driver.id, ChargingSession.start_utc >= since)
        .group_by(ChargingSession.source)
        .order_by(ChargingSession.source)
    ).all()
    tokens = db.exec(select(IdToken).where(IdToken.driver_id == driver.id).order_by(IdToken.token)).all()
    zones = session_zones(db, (s.id for s in sessions))
    return {
        "sessions": [
            {
                "start": when(s.start_utc, zones.get(s.id, "UTC")),
                "station": s.station_id,
                "source": str(s.source),
                "energy_kwh": kwh(s.energy_wh),
            }
            for s in sessions
        ],
        "totals": [{"source": str(source), "energy_kwh": kwh(wh)} for source, wh in totals],
        "tokens": [{"token": t.token, "status": str(t.status)} for t in tokens],
    }
