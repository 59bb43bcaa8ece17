"""What the fleet dashboard shows, from the same queries the Fleet API serves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pipelet_app import clock
from pipelet_app.auth import InvalidInput, Principal, Role, require
from pipelet_app.fleet.queries import (
    SessionFilter,
    fleet_driver,
    list_sessions,
    monthly_by_source,
    solar_share_by_driver,
)
from pipelet_app.i18n.formatting import kwh, percent, when
from pipelet_app.services.session import Session
from pipelet_app.services.zones import session_zones

SOURCES = ("ocpp_wallbox_wh", "pv_wallbox_wh", "public_wh")


def period_filter(start: str, end: str, driver_id: int | None = None) -> SessionFilter:
    """Dates as the form sends them (YYYY-MM-DD, end inclusive) → a UTC half-open filter."""
    try:
        first = date.fromisoformat(start)
        last = date.fromisoformat(end)
    except ValueError:
        raise InvalidInput("period: dates must look like 2025-01-31") from None
    if first > last:
        raise InvalidInput("period: the start is after the end")
    return SessionFilter(
        start=datetime(first.year, first.month, first.day, tzinfo=UTC),
        end=datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1),
        driver_id=driver_id,
    )


def default_period(today: date | None = None) -> tuple[str, str]:
    today = today or clock.today()
    return (today - timedelta(days=29)).isoformat(), today.isoformat()


def live_key(db: Session, principal: Principal) -> tuple[str, int]:
    """What the dashboard follows: the caller's own fleet's sessions."""
    require(principal, Role.FLEET_MANAGER)
    assert principal.tenant_id is not None  # a fleet manager always has one (auth.invitations)
    return ("fleet", principal.tenant_id)


def fleet_overview(db: Session, principal: Principal, start: str = "", end: str = "") -> dict:
    if not start or not end:
        start, end = default_period()
    flt = period_filter(start, end)
    rows = solar_share_by_driver(db, principal, flt)
    totals = {key: sum(r[key] for r in rows) for key in (*SOURCES, "solar_wh", "total_wh")}
    months = monthly_by_source(db, principal, flt)
    return {
        "start": start,
        "end": end,
        "totals": {
            "ocpp_kwh": kwh(totals["ocpp_wallbox_wh"]),
            "pv_kwh": kwh(totals["pv_wallbox_wh"]),
            "public_kwh": kwh(totals["public_wh"]),
            "total_kwh": kwh(totals["total_wh"]),
            "solar_share": percent(totals["solar_wh"] / totals["total_wh"] if totals["total_wh"] else None),
        },
        "estimated": any(r["solar_estimated"] for r in rows),
        "drivers": [
            {
                "id": row["driver_id"],
                "name": row["driver_name"],
                "ocpp_kwh": kwh(row["ocpp_wallbox_wh"]),
                "pv_kwh": kwh(row["pv_wallbox_wh"]),
                "public_kwh": kwh(row["public_wh"]),
                "total_kwh": kwh(row["total_wh"]),
                "total_wh": row["total_wh"],
                "solar_share": percent(row["solar_share"]) + (" *" if row["solar_estimated"] else ""),
                "solar_share_value": row["solar_share"] if row["solar_share"] is not None else -1.0,
            }
            for row in rows
        ],
        "months": [
            {
                "month": m["month"],
                "ocpp": round(m["ocpp_wallbox_wh"] / 1000, 1),
                "pv": round(m["pv_wallbox_wh"] / 1000, 1),
                "public": round(m["public_wh"] / 1000, 1),
            }
            for m in months
        ],
    }


def brand_of(id_tag: str) -> str:
    """`pv-enphase` → `Enphase`; other id tags name no brand."""
    return id_tag.removeprefix("pv-").capitalize() if id_tag.startswith("pv-") else ""


def driver_sessions(
    db: Session, principal: Principal, driver_id: int, start: str, end: str, cursor: str | None = None
) -> dict:
    driver = fleet_driver(db, principal, driver_id)
    page, next_cursor = list_sessions(db, principal, period_filter(start, end, driver_id), cursor, limit=50)
    zones = session_zones(db, (s["id"] for s in page))
    return {
        "driver": driver.name,
        "next_cursor": next_cursor or "",
        "sessions": [
            {
                "start": when(s["start_utc"], zones.get(s["id"], "UTC")),
                "station": s["station_id"],
                "source": s["source"],
                "brand": brand_of(s["id_tag"]),
                "energy_kwh": kwh(s["energy_wh"]),
                # A running session's solar part is not known yet: a dash, as every unknown on the pages.
                "solar_kwh": "—"
                if s["solar_wh"] is None
                else kwh(s["solar_wh"]) + (" *" if s["solar_estimated"] else ""),
                "reason": s["reason"],
                "transaction_id": s["transaction_id"],
            }
            for s in page
        ],
    }
