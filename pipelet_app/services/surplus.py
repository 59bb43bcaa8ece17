"""PV-surplus charging for people: the operator's settings per site, a driver's wishes for a running
session, and what the controller decided (the operator's view).

Every function checks role and ownership itself:
- site settings and decisions: operators of the site's tenant (another tenant's site → 404);
- session preferences: the driver of the session may read and change them; a fleet manager of that
  driver's fleet may read them; anyone else gets 404, exactly as for a missing session.
Bad input raises `InvalidInput` whose message starts with the field's name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from pipelet_app.auth import InvalidInput, NotFound, Principal, require, require_tenant
from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    ChargingSession,
    Driver,
    Role,
    SessionPreference,
    SessionSource,
    Site,
    SiteEnergyMinute,
    SiteSurplus,
    SurplusDecision,
)
from pipelet_app.domain.surplus import Mode
from pipelet_app.domain.surplus.inputs import (
    InputError,
    parse_prices_csv,
    prices_cover,
    prices_from_rows,
    prices_to_rows,
)
from pipelet_app.services.driver_sessions import session_power_w
from pipelet_app.services.sites import own_site

MODES = tuple(m.value for m in Mode)
MIN_INTERVAL_S, MAX_INTERVAL_S = 10, 30
MAX_ENERGY_WH = 200_000.0  # more than any car battery: a typo, not a wish
MAX_DEPARTURE_AHEAD = timedelta(days=7)
SETTINGS_FIELDS = (
    "enabled",
    "mode",
    "min_soc",
    "battery_priority",
    "interval_s",
    "tariff_source",
    "tariff_region",
    "tariff_csv",
)
TARIFF_SOURCES = ("none", "awattar", "csv")
AWATTAR_REGIONS = ("de", "at")
MAX_CSV_CHARS = 500_000


# ------------------------------------------------------------------------------------ site settings


def latest_flows(
    db: Session, principal: Principal, site_id: int, max_age: timedelta
) -> SiteEnergyMinute | None:
    """The site's newest minute of energy flows if newer than `max_age` (None: nothing recent);
    an operator of the site's tenant only (another's site: not found)."""
    own_site(db, principal, site_id)
    row = db.exec(
        select(SiteEnergyMinute)
        .where(SiteEnergyMinute.site_id == site_id, SiteEnergyMinute.minute >= utcnow() - max_age)
        .order_by(col(SiteEnergyMinute.minute).desc())
        .limit(1)
    ).first()
    return row


def tariff_state(row: SiteSurplus, now: datetime) -> tuple[int, datetime | None, str]:
    """(cached slots, end of the last one, what the loop does with them) for the operator."""
    series = None
    if row.tariff_prices:
        try:
            series = prices_from_rows(row.tariff_prices, row.tariff_slot_s)
        except InputError:
            series = None
    until = None
    if series is not None:
        until = series.points[-1].start_utc + timedelta(seconds=series.slot_s)
    if row.tariff_source == "none":
        status = "no tariff source: Eco-plus plans like PV-priority"
    elif prices_cover(series, now):
        status = f"prices until {until:%Y-%m-%d %H:%M} UTC"  # type: ignore[str-format]
        if row.tariff_error:
            status += f" (last fetch failed: {row.tariff_error}; the cached prices stay in use)"
    elif row.tariff_error:
        status = f"no current prices ({row.tariff_error}): Eco-plus plans like PV-priority"
    else:
        status = "no current prices yet: Eco-plus plans like PV-priority"
    return (len(series.points) if series else 0), until, status


def settings_out(site_id: int, row: SiteSurplus | None) -> dict[str, Any]:
    row = row or SiteSurplus(site_id=site_id)
    slots, until, status = tariff_state(row, utcnow())
    return {
        "site_id": site_id,
        "enabled": row.enabled,
        "mode": row.mode,
        "min_soc": row.min_soc,
        "battery_priority": row.battery_priority,
        "interval_s": row.interval_s,
        "tariff_source": row.tariff_source,
        "tariff_region": row.tariff_region,
        "tariff_slots": slots,
        "tariff_until_utc": until,
        "tariff_fetched_utc": row.tariff_fetched_utc,
        "tariff_error": row.tariff_error,
        "tariff_status": status,
    }


def get_surplus(db: Session, principal: Principal, site_id: int) -> dict[str, Any]:
    own_site(db, principal, site_id)
    return settings_out(site_id, db.get(SiteSurplus, site_id))


def _check_settings(values: Mapping[str, Any], site: Site) -> None:
    for name in ("enabled", "battery_priority"):
        if name in values and not isinstance(values[name], bool):
            raise InvalidInput(f"{name}: must be true or false")
    if "mode" in values and values["mode"] not in MODES:
        raise InvalidInput(f"mode: must be one of {', '.join(MODES)}")
    soc = values.get("min_soc")
    if soc is not None and (isinstance(soc, bool) or not isinstance(soc, int | float) or not 0 <= soc <= 100):
        raise InvalidInput("min_soc: a percentage from 0 to 100")
    if "interval_s" in values:
        interval = values["interval_s"]
        if isinstance(interval, bool) or not isinstance(interval, int):
            raise InvalidInput("interval_s: whole seconds")
        if not MIN_INTERVAL_S <= interval <= MAX_INTERVAL_S:
            raise InvalidInput(f"interval_s: between {MIN_INTERVAL_S} and {MAX_INTERVAL_S} seconds")
    if values.get("enabled") and site.grid_limit_a is None:
        raise InvalidInput("enabled: set the site's grid_limit_a first (the controller never exceeds it)")
    if "tariff_source" in values and values["tariff_source"] not in TARIFF_SOURCES:
        raise InvalidInput(f"tariff_source: must be one of {', '.join(TARIFF_SOURCES)}")
    region = values.get("tariff_region")
    if region is not None and region not in AWATTAR_REGIONS:
        raise InvalidInput(f"tariff_region: must be one of {', '.join(AWATTAR_REGIONS)} (aWATTar's markets)")
    text = values.get("tariff_csv")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_CSV_CHARS):
        raise InvalidInput(f"tariff_csv: CSV text of at most {MAX_CSV_CHARS} characters")


def _apply_tariff(row: SiteSurplus, values: Mapping[str, Any], now: datetime) -> None:
    """Set the tariff source; a CSV is parsed and cached now (all or nothing), aWATTar is due at once."""
    source = values.get("tariff_source", row.tariff_source)
    region = values.get("tariff_region", row.tariff_region)
    text = values.get("tariff_csv", row.tariff_csv)
    changed = source != row.tariff_source or region != row.tariff_region or text != row.tariff_csv
    if source == "csv":
        if not text:
            raise InvalidInput("tariff_csv: required with tariff_source csv (time_utc,price_per_kwh rows)")
        try:
            series = parse_prices_csv(text, "tariff_csv")
        except InputError as exc:
            raise InvalidInput(str(exc)) from None
        row.tariff_prices, row.tariff_slot_s = prices_to_rows(series), series.slot_s
        row.tariff_fetched_utc, row.tariff_next_fetch_utc, row.tariff_error = now, None, None
    elif source == "awattar":
        region = region or "de"
        if changed:
            row.tariff_prices = row.tariff_slot_s = row.tariff_fetched_utc = row.tariff_error = None
            row.tariff_next_fetch_utc = None  # due at the worker's next tick
    else:
        row.tariff_prices = row.tariff_slot_s = row.tariff_fetched_utc = row.tariff_error = None
        row.tariff_next_fetch_utc = None
    row.tariff_source = source
    row.tariff_region = region if source == "awattar" else None
    row.tariff_csv = text if source == "csv" else None


def put_surplus(db: Session, principal: Principal, site_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """Change the given settings (missing ones keep their value)."""
    site = own_site(db, principal, site_id)
    values = {k: v for k, v in values.items() if k in SETTINGS_FIELDS}
    for name in ("enabled", "mode", "battery_priority", "interval_s", "tariff_source"):
        if name in values and values[name] is None:
            raise InvalidInput(f"{name}: cannot be empty")
    _check_settings(values, site)
    row = db.get(SiteSurplus, site_id) or SiteSurplus(site_id=site_id)
    now = utcnow()
    _apply_tariff(row, values, now)
    for name, value in values.items():
        if name.startswith("tariff_"):
            continue
        setattr(row, name, float(value) if name == "min_soc" and value is not None else value)
    row.updated_at = now
    db.add(row)
    db.flush()
    return settings_out(site_id, row)


def decisions(db: Session, principal: Principal, site_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The latest cycles of the site's loop, newest first."""
    own_site(db, principal, site_id)
    rows = db.exec(
        select(SurplusDecision)
        .where(SurplusDecision.site_id == site_id)
        .order_by(col(SurplusDecision.time_utc).desc(), col(SurplusDecision.id).desc())
        .limit(max(1, min(limit, 500)))
    ).all()
    return [decision_out(r) for r in rows]


def decision_out(row: SurplusDecision) -> dict[str, Any]:
    return {
        "time_utc": row.time_utc,
        "mode": row.mode,
        "stale": row.stale,
        "available_w": row.available_w,
        "grid_w": row.grid_w,
        "pv_w": row.pv_w,
        "reason": row.reason,
        "chargers": list(row.chargers or []),
    }


# ------------------------------------------------------------------------------------ preferences


def _session(db: Session, transaction_id: str) -> ChargingSession:
    session = db.exec(select(ChargingSession).where(ChargingSession.transaction_id == transaction_id)).first()
    if session is None or session.driver_id is None:
        raise NotFound("Not found.")
    return session


def _readable_session(db: Session, principal: Principal, transaction_id: str) -> ChargingSession:
    """The driver's own session, or (read only) a session of a driver in the fleet manager's fleet."""
    require(principal, Role.DRIVER, Role.FLEET_MANAGER)
    session = _session(db, transaction_id)
    driver = db.get(Driver, session.driver_id)
    if driver is None:
        raise NotFound("Not found.")
    if principal.role == Role.DRIVER:
        if driver.user_id != principal.user_id:
            raise NotFound("Not found.")
    else:
        require_tenant(principal, driver.fleet_id)
    return session


def preferences_out(session: ChargingSession, row: SessionPreference | None) -> dict[str, Any]:
    return {
        "transaction_id": session.transaction_id,
        "running": session.end_utc is None,
        "mode": row.mode if row else None,
        "departure_utc": row.departure_utc if row else None,
        "energy_wh": row.energy_wh if row else None,
    }


def get_preferences(db: Session, principal: Principal, transaction_id: str) -> dict[str, Any]:
    session = _readable_session(db, principal, transaction_id)
    return preferences_out(session, db.get(SessionPreference, session.id))


def _check_preferences(values: Mapping[str, Any], session: ChargingSession, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "mode" in values:
        if values["mode"] is not None and values["mode"] not in MODES:
            raise InvalidInput(f"mode: must be one of {', '.join(MODES)} (or null for the site's)")
        out["mode"] = values["mode"]
    if "departure_utc" in values:
        departure = values["departure_utc"]
        if isinstance(departure, str):
            try:
                departure = datetime.fromisoformat(departure.replace("Z", "+00:00"))
            except ValueError:
                raise InvalidInput("departure_utc: not an ISO 8601 time") from None
        if departure is not None:
            if not isinstance(departure, datetime):
                raise InvalidInput("departure_utc: not an ISO 8601 time")
            if departure.tzinfo is None:
                raise InvalidInput("departure_utc: give a UTC offset (Z or +hh:mm)")
            departure = departure.astimezone(UTC)
            if departure <= now:
                raise InvalidInput("departure_utc: must be in the future")
            if departure > now + MAX_DEPARTURE_AHEAD:
                raise InvalidInput("departure_utc: at most 7 days ahead")
        out["departure_utc"] = departure
    if "energy_wh" in values:
        energy = values["energy_wh"]
        if energy is not None:
            if isinstance(energy, bool) or not isinstance(energy, int | float) or not math.isfinite(energy):
                raise InvalidInput("energy_wh: a number of watt-hours")
            if not 0 < energy <= MAX_ENERGY_WH:
                raise InvalidInput(f"energy_wh: above 0 and at most {MAX_ENERGY_WH:g}")
            energy = float(energy)
        out["energy_wh"] = energy
    return out


def set_preferences(
    db: Session, principal: Principal, transaction_id: str, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The driver's wishes for their own running session; given fields change, null clears one."""
    require(principal, Role.DRIVER)
    session = _readable_session(db, principal, transaction_id)
    if session.end_utc is not None:
        raise InvalidInput("transaction_id: the session has ended; preferences apply to a running session")
    now = utcnow()
    changes = _check_preferences(values, session, now)
    row = db.get(SessionPreference, session.id) or SessionPreference(session_id=session.id)  # type: ignore[arg-type]
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = now
    db.add(row)
    db.flush()
    return preferences_out(session, row)


def running_sessions_of_driver(db: Session, principal: Principal) -> list[dict[str, Any]]:
    """The signed-in driver's running sessions with their preferences (the driver portal's form).

    Only OCPP sessions can be running here: an imported public or PV-wallbox session without an end is
    a finished session whose end the source did not give, and no controller could steer it anyway."""
    require(principal, Role.DRIVER)
    driver = db.exec(select(Driver).where(Driver.user_id == principal.user_id)).first()
    if driver is None:
        return []
    sessions = db.exec(
        select(ChargingSession)
        .where(
            ChargingSession.driver_id == driver.id,
            ChargingSession.source == SessionSource.OCPP_WALLBOX,
            col(ChargingSession.end_utc).is_(None),
        )
        .order_by(col(ChargingSession.start_utc).desc())
        .limit(5)
    ).all()
    return [
        {
            **preferences_out(s, db.get(SessionPreference, s.id)),
            "station_id": s.station_id,
            "session_id": s.id,
            "delivered_wh": s.energy_wh,
            "power_w": session_power_w(db, s.id) if s.id is not None else None,
        }
        for s in sessions
    ]
