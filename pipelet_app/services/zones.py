"""The time zone a session's times are shown in: the zone of the place where it happened.

An OCPP session happened at its charger's site; a PV-wallbox session at the driver's home system, whose
zone the inverter cloud reports (or the account's first system's). A public session, or one whose place
is unknown, is shown in UTC. Looked up in three queries for a whole page, not per row.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from pipelet_app.db.models import Charger, ChargingSession, PvAccount, PvWallbox, Site


def session_zones(db: Session, session_ids: Iterable[int | None]) -> dict[int, str]:
    """Session id -> IANA zone for the given sessions (the ids a page is about to show)."""
    ids = {i for i in session_ids if i is not None}
    if not ids:
        return {}
    rows = db.exec(
        select(
            ChargingSession.id,
            ChargingSession.charger_id,
            ChargingSession.driver_id,
            ChargingSession.station_id,
        ).where(col(ChargingSession.id).in_(ids))
    ).all()
    charger_ids = {charger_id for _, charger_id, _, _ in rows if charger_id is not None}
    site_zone = (
        dict(
            db.exec(
                select(Charger.id, Site.timezone)
                .join(Site, Site.id == Charger.site_id)  # type: ignore[arg-type]
                .where(col(Charger.id).in_(charger_ids))
            ).all()
        )
        if charger_ids
        else {}
    )
    pv = {(driver, station) for _, charger, driver, station in rows if charger is None and driver}
    home_zone: dict[tuple[int, str], str] = {}
    if pv:
        found = db.exec(
            select(PvAccount.driver_id, PvWallbox.serial, PvWallbox.system_timezone, PvAccount.tz_name)
            .join(PvAccount, PvAccount.id == PvWallbox.account_id)  # type: ignore[arg-type]
            .where(col(PvAccount.driver_id).in_({d for d, _ in pv}))
        ).all()
        for driver_id, serial, system_tz, account_tz in found:
            if system_tz or account_tz:
                home_zone[(driver_id, serial)] = system_tz or account_tz
    zones: dict[int, str] = {}
    for session_id, charger_id, driver_id, station in rows:
        if charger_id is not None:
            zones[session_id] = site_zone.get(charger_id, "UTC")
        else:
            zones[session_id] = home_zone.get((driver_id, station), "UTC")
    return zones
