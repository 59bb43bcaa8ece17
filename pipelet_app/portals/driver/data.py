"""What the driver portal shows: the signed-in driver's own sessions and cards, nothing else."""

from __future__ import annotations

from datetime import timedelta

from pipelet_app import clock
from pipelet_app.auth import NotFound, Principal, Role, require
from pipelet_app.domain.durations import duration_text
from pipelet_app.i18n.formatting import clock_time, kwh, money, percent, watts, when
from pipelet_app.services import driver_sessions
from pipelet_app.services.session import Session
from pipelet_app.services.zones import session_zones

SOURCES = ("ocpp-wallbox", "pv-inverter", "public")


def default_period() -> tuple[str, str]:
    today = clock.today()
    return (today - timedelta(days=29)).isoformat(), today.isoformat()


def _share(share: float | None, estimated: bool) -> str:
    text = percent(share)
    return f"{text} *" if share is not None and estimated else text


def live_key(db: Session, principal: Principal) -> tuple[str, int]:
    """What the driver's pages follow: the caller's own sessions (0: a driver user without a driver row,
    whose pages have nothing to follow)."""
    return ("driver", driver_sessions.my_driver_id(db, principal))


def driver_overview(db: Session, principal: Principal, start: str = "", end: str = "") -> dict:
    """The caller's sessions in the period (default: the last 30 days) with solar share each, the
    period's totals per source, the share per month, and the caller's cards."""
    require(principal, Role.DRIVER)
    if not start and not end:
        start, end = default_period()
    rows = driver_sessions.my_sessions(db, principal, start, end)
    tokens = driver_sessions.my_cards(db, principal)
    zones = session_zones(db, (r["id"] for r in rows))
    totals = {source: 0.0 for source in SOURCES}
    for r in rows:
        totals[r["source"]] = totals.get(r["source"], 0.0) + r["energy_wh"]
    return {
        "start": start,
        "end": end,
        "sessions": [
            {
                "id": str(r["id"]),
                "start": when(r["start_utc"], zones.get(r["id"], "UTC")),
                "zone": zones.get(r["id"], "UTC"),
                "station": r["station_id"],
                "source": r["source"],
                "energy_kwh": kwh(r["energy_wh"]),
                "solar_share": "—"
                if r["held_for_review"]
                else _share(r["solar_share"], r["solar_estimated"]),
            }
            for r in rows
        ],
        "totals": [{"source": s, "energy_kwh": kwh(wh)} for s, wh in totals.items() if wh > 0],
        "months": [
            {
                "month": m["month"],
                "energy_kwh": kwh(m["energy_wh"]),
                "solar_kwh": kwh(m["solar_wh"]),
                "solar_share": percent(m["solar_share"]),
                # the chart's numbers
                "solar": round(m["solar_wh"] / 1000, 1),
                "grid": round((m["energy_wh"] - m["solar_wh"]) / 1000, 1),
            }
            for m in driver_sessions.monthly_solar(rows)
        ],
        "tokens": [{"token": t.token, "status": str(t.status)} for t in tokens],
    }


def session_detail(db: Session, principal: Principal, session_id: str) -> dict:
    """One of the caller's sessions for its detail page (another's: NotFound, like a missing one)."""
    require(principal, Role.DRIVER)
    if not session_id.isdigit():
        raise NotFound("Not found.")
    d = driver_sessions.my_session(db, principal, int(session_id))
    zone = session_zones(db, [d["id"]]).get(d["id"], "UTC")
    value = d["reimbursement"]
    return {
        "summary": {
            "transaction_id": d["transaction_id"],
            "station": d["station_id"],
            "source": d["source"],
            "start": when(d["start_utc"], zone),
            "end": when(d["end_utc"], zone),
            "zone": zone,
            "duration": duration_text(d["duration_s"]),
            "energy_kwh": kwh(d["energy_wh"]),
            "solar_kwh": kwh(d["solar_wh"]),
            "grid_kwh": kwh(d["grid_wh"]) if d["grid_wh"] is not None else "—",
            "solar_share": "—" if d["held_for_review"] else _share(d["solar_share"], d["solar_estimated"]),
            "held": "1" if d["held_for_review"] else "",
            "reimbursement": money(value, d["currency"]) if value is not None else "—",
            "running": "1" if d["end_utc"] is None else "",
            "power": watts(d["power_w"]) if d["end_utc"] is None else "—",
            "rate": f"{money(d['rate_per_kwh'], d['currency'], 4)}/kWh"
            if d["rate_per_kwh"] is not None
            else "—",
        },
        "curve": [{"at": clock_time(at, zone), "kw": round(w / 1000, 2)} for at, w in d["curve"]],
        "split": [
            {"name": "solar", "kwh": round(d["solar_wh"] / 1000, 2)},
            {"name": "grid", "kwh": round((d["grid_wh"] or 0) / 1000, 2)},
        ],
    }
