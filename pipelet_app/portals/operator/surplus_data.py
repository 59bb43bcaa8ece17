"""What the solar-charging page shows (`/operator/sites/[site_id]/surplus`): the controller's settings,
the site's energy flows now (PV, house, battery, cars, grid), today's chart and the controller's latest
decisions with their reasons. Role and tenant are checked by the services it calls."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pipelet_app.auth import InvalidInput, Principal
from pipelet_app.clock import utcnow
from pipelet_app.i18n.catalogue import translate
from pipelet_app.i18n.formatting import clock_time, current_locale, number, when
from pipelet_app.i18n.surplus_reasons import localize
from pipelet_app.services import sites as sites_service
from pipelet_app.services import surplus as service
from pipelet_app.services.session import Session

LIVE_WINDOW = timedelta(minutes=5)  # flows older than this show as "—"


def _kw(watts: float | None) -> str:
    return "—" if watts is None else number(watts / 1000, 1)


def _flows(db: Session, principal: Principal, site_id: int) -> dict[str, str]:
    row = service.latest_flows(db, principal, site_id, LIVE_WINDOW)
    if row is None:
        return {k: "—" for k in ("pv", "house", "battery", "cars", "grid", "grid_dir", "battery_dir")}
    grid, battery = row.grid_w, row.battery_w
    return {
        "pv": _kw(row.pv_w),
        "house": _kw(row.load_w),
        "battery": _kw(None if battery is None else abs(battery)),
        "battery_dir": "" if not battery else ("discharge" if battery > 0 else "charge"),
        "cars": _kw(row.ev_w),
        "grid": _kw(None if grid is None else abs(grid)),
        "grid_dir": "" if not grid else ("import" if grid > 0 else "export"),
    }


def _chart(db: Session, principal: Principal, site: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    zone = ZoneInfo(site["timezone"] or "UTC")
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    data = sites_service.energy(db, principal, site["id"], midnight, now, "15m")
    out = []
    for point in data["series"]:

        def kw(name: str, point: dict = point) -> float:
            return round((point.get(name) or 0.0) / 1000, 2)

        out.append(
            {
                "time": clock_time(point["time_utc"], str(zone)),
                "pv": kw("pv_w"),
                "house": kw("load_w"),
                "cars": kw("ev_w"),
                "grid": kw("grid_w"),
            }
        )
    return out


def _limit(amps: float, phases: int) -> str:
    """`6.0 A, 3 phases` (`6,0 A, 3 Phasen`): the limit sent and on how many phases, in the page's words."""
    word = translate("sr.phase" if phases == 1 else "sr.phases", current_locale())
    return f"{number(amps, 1)} A, {phases} {word}"


def _decision_rows(decisions: list[dict[str, Any]], tz: str) -> list[dict[str, str]]:
    rows = []
    for d in decisions:
        for c in d["chargers"] or [{}]:
            rows.append(
                {
                    "time": when(d["time_utc"], tz),
                    "site": localize(d["reason"]),  # the stored English text, in the page's language
                    "charger": str(c.get("charger", "—")),
                    "limit": "—" if "limit_a" not in c else _limit(c["limit_a"], int(c.get("phases", 3))),
                    "reason": localize(str(c.get("reason", ""))),
                    "sent": localize(str(c.get("sent", ""))),  # our outcome words too (unchanged, ...)
                }
            )
    return rows


def surplus_view(db: Session, principal: Principal, site_id: int) -> dict[str, Any]:
    settings = service.get_surplus(db, principal, site_id)  # operator of this site's tenant, else 404
    site = sites_service.get_site(db, principal, site_id)
    now = utcnow()
    return {
        "site_id": str(site_id),
        "site_name": site["name"],
        "settings": {
            "enabled": "on" if settings["enabled"] else "off",
            "mode": settings["mode"],
            "interval_s": str(settings["interval_s"]),
            "min_soc": "" if settings["min_soc"] is None else f"{settings['min_soc']:g}",
            "tariff_source": settings["tariff_source"],
            "tariff_region": settings["tariff_region"] or "de",
            "tariff_status": localize(settings["tariff_status"]),
        },
        "flows": _flows(db, principal, site_id),
        "chart": _chart(db, principal, site, now),
        "decisions": _decision_rows(service.decisions(db, principal, site_id, 10), site["timezone"]),
    }


def save_settings(db: Session, principal: Principal, site_id: int, form: dict[str, Any]) -> None:
    """The form's text into the service's values (which validates and checks role and tenant)."""
    values: dict[str, Any] = {
        "enabled": form.get("enabled") in ("on", "true", True),
        "mode": str(form.get("mode") or "pv-only"),
    }
    interval = str(form.get("interval_s") or "").strip()
    if interval:
        if not interval.isdigit():
            raise InvalidInput(f"interval_s: {interval!r} is not a whole number of seconds")
        values["interval_s"] = int(interval)
    soc = str(form.get("min_soc") or "").strip().replace(",", ".")
    try:
        values["min_soc"] = float(soc) if soc else None
    except ValueError:
        raise InvalidInput(f"min_soc: {soc!r} is not a number") from None
    source = str(form.get("tariff_source") or "").strip()
    if source:
        values["tariff_source"] = source
        if source == "awattar":
            values["tariff_region"] = str(form.get("tariff_region") or "de")
        text = str(form.get("tariff_csv") or "")
        if source == "csv" and text.strip():  # empty: keep the CSV stored before
            values["tariff_csv"] = text
    service.put_surplus(db, principal, site_id, values)
