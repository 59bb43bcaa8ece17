"""The driver's running sessions and their solar-charging wishes (mode, departure, energy), as form text.

Times are shown and entered in the zone of the session's site (where the driver is); the rules (own
session only, running, valid values) are `services.surplus`'s.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelet_app.auth import InvalidInput, Principal
from pipelet_app.i18n.formatting import editable, kwh, watts
from pipelet_app.services import surplus as service
from pipelet_app.services.session import Session
from pipelet_app.services.zones import session_zones

SITE_DEFAULT = "site"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def form_key(transaction_id: str) -> str:
    """The suffix of one running session's form element ids (`prefs-save-<key>`): a driver with two
    running sessions has two forms, and an id must be unique in the page. Derived from the transaction
    id (stable while the session runs, whatever the order of the list) but only of [0-9a-f], so it is a
    plain CSS selector: transaction ids carry colons (`ocpp16:CP-1:7`)."""
    return hashlib.sha256(transaction_id.encode()).hexdigest()[:12]


def running_sessions(db: Session, principal: Principal) -> list[dict[str, str]]:
    rows = service.running_sessions_of_driver(db, principal)
    zones = session_zones(db, (r["session_id"] for r in rows))
    out = []
    for r in rows:
        zone = zones.get(r["session_id"], "UTC")
        departure = r["departure_utc"]
        out.append(
            {
                "transaction_id": r["transaction_id"],
                "key": form_key(r["transaction_id"]),
                "station": r["station_id"],
                "zone": zone,
                "mode": r["mode"] or SITE_DEFAULT,
                "departure": departure.astimezone(_zone(zone)).strftime("%Y-%m-%dT%H:%M")
                if departure
                else "",
                "energy_kwh": editable(None if r["energy_wh"] is None else r["energy_wh"] / 1000),
                # what the session has delivered so far and its power now (live, in the page language)
                "delivered": f"{kwh(r['delivered_wh'])} kWh",
                "power": watts(r["power_w"]),
            }
        )
    return out


def save_preferences(db: Session, principal: Principal, form: dict[str, Any]) -> None:
    transaction_id = str(form.get("transaction_id") or "")
    mode = str(form.get("mode") or SITE_DEFAULT)
    values: dict[str, Any] = {"mode": None if mode == SITE_DEFAULT else mode}
    zones = {r["transaction_id"]: r["zone"] for r in running_sessions(db, principal)}
    departure = str(form.get("departure") or "").strip()
    if departure:
        try:
            local = datetime.fromisoformat(departure)
        except ValueError:
            raise InvalidInput(f"departure_utc: {departure!r} is not a date and time") from None
        values["departure_utc"] = local.replace(tzinfo=_zone(zones.get(transaction_id, "UTC")))
    else:
        values["departure_utc"] = None
    energy = str(form.get("energy_kwh") or "").strip().replace(",", ".")
    try:
        values["energy_wh"] = float(energy) * 1000 if energy else None
    except ValueError:
        raise InvalidInput(f"energy_wh: {energy!r} is not a number of kWh") from None
    service.set_preferences(db, principal, transaction_id, values)
