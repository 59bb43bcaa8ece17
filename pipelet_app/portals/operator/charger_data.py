"""What the charger detail and fault pages show, formatted; scoping lives in pipelet_app.operations."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pipelet_app.auth import InvalidInput, Principal
from pipelet_app.domain.charger_status import summary_since, summary_status
from pipelet_app.domain.durations import duration_text
from pipelet_app.i18n.catalogue import translate
from pipelet_app.i18n.formatting import current_locale, hours, kwh, money, number, watts, when
from pipelet_app.operations import chargers as operations
from pipelet_app.operations import health
from pipelet_app.services import pricing
from pipelet_app.services.session import Session

# Buttons on the detail page: (label key, command, payload) — OCPP 1.6 and 2.0.1 payloads differ.
QUICK_COMMANDS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "1.6": [
        ("cmd.soft_reset", "reset", {"type": "Soft"}),
        ("cmd.hard_reset", "reset", {"type": "Hard"}),
        ("cmd.unlock", "unlock", {"connectorId": 1}),
        ("cmd.get_config", "get-configuration", {}),
        ("cmd.trigger_status", "trigger-message", {"requestedMessage": "StatusNotification"}),
        ("cmd.inoperative", "change-availability", {"connectorId": 0, "type": "Inoperative"}),
        ("cmd.operative", "change-availability", {"connectorId": 0, "type": "Operative"}),
    ],
    "2.0.1": [
        ("cmd.soft_reset", "reset", {"type": "OnIdle"}),
        ("cmd.hard_reset", "reset", {"type": "Immediate"}),
        ("cmd.unlock", "unlock", {"evseId": 1, "connectorId": 1}),
        ("cmd.trigger_status", "trigger-message", {"requestedMessage": "StatusNotification"}),
        ("cmd.inoperative", "change-availability", {"operationalStatus": "Inoperative"}),
        ("cmd.operative", "change-availability", {"operationalStatus": "Operative"}),
    ],
}


def _short(value: Any, limit: int = 140) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hours_and_share(seconds: float, share: float | None) -> str:
    """`312.4 h (98.2 %)`: hours read better than seconds, the share says how much of the month it was."""
    text = hours(seconds)
    return text if share is None else f"{text} ({number(share * 100, 1)} %)"


def _uptime_row(m: health.MonthUptime) -> dict[str, str]:
    u = m.uptime
    return {
        "month": m.label,
        "online": hours_and_share(u.online_s, m.share(u.online_s)),
        "degraded": hours_and_share(u.degraded_s, m.share(u.degraded_s)),
        "offline": hours_and_share(u.offline_s, m.share(u.offline_s)),
    }


def _cost(db: Session, principal: Principal, s: dict[str, Any]) -> str:
    """A finished session's stored cost; a running one's price up to now ("…" marks it as running)."""
    if s["end_utc"] is None:
        running = pricing.session_cost(db, principal, s["transaction_id"])
        total = running["total"]
        return f"{money(Decimal(str(total)), running['currency'])} …" if total is not None else "—"
    return money(s["cost"], s["currency"]) if s["cost"] is not None else "—"


def live_key(db: Session, principal: Principal, charge_point_id: str) -> tuple[str, int]:
    """What the detail page follows: the charger, once role and tenant allow it."""
    charger = operations.own_charger(db, principal, charge_point_id)
    assert charger.id is not None
    return ("charger", charger.id)


def charger_view(db: Session, principal: Principal, charge_point_id: str) -> dict[str, Any]:
    d = operations.charger_detail(db, principal, charge_point_id)
    power = operations.running_power_w(db, principal, charge_point_id)
    # The running session on each connector: its Stop button sits next to the connector.
    running_on = {str(s["connector_id"]): s["transaction_id"] for s in d["sessions"] if s["end_utc"] is None}
    version = "2.0.1" if str(d["ocpp_version"]).startswith("2") else "1.6"
    status = summary_status(d["is_online"], [d["status"], *(c["status"] for c in d["connectors"])])
    reported = [(c["status"], c["since"]) for c in d["connectors"]]
    tz = d["timezone"]
    return {
        "summary": {
            "id": d["charge_point_id"],
            "model": f"{d['vendor']} {d['model']}".strip() or "—",
            "serial": d["serial_number"] or "—",
            "firmware": d["firmware_version"] or "—",
            "ocpp": d["ocpp_version"] or "—",
            "online": "online" if d["is_online"] else "offline",
            "last_seen": when(d["last_seen_at"], tz),
            "timezone": tz,
            "status": status,
            "since": when(summary_since(status, d["last_seen_at"], reported), tz),
            # "none": admitted without credentials (the page warns); "basic" without a password: refused.
            "auth_mode": d["auth_mode"],
            "password": "set" if d["has_password"] else "missing",
        },
        "quick": [
            {"label": key, "name": name, "payload": json.dumps(payload)}
            for key, name, payload in QUICK_COMMANDS[version]
        ],
        "connectors": [
            {
                "id": str(c["connector_id"]),
                "status": c["status"],
                "error": c["error_code"],
                "since": when(c["since"], tz),
                "running_tx": running_on.get(str(c["connector_id"]), ""),
            }
            for c in d["connectors"]
            if c["connector_id"] != 0  # connector 0 is the charger itself: its status is the summary's
        ],
        "tokens": operations.id_tokens(db, principal, charge_point_id),
        "sessions": [
            {
                "start": when(s["start_utc"], tz),
                "end": when(s["end_utc"], tz),
                "id_tag": s["id_tag"],
                "energy_kwh": kwh(s["energy_wh"]),
                "reason": s["reason"] or "—",
                "missing": str(s["missing_messages"]),  # the page words it ("3 messages missing")
                "tx": s["transaction_id"],
                "flags": ", ".join(s["flags"]),
                "held": "1" if s["review_pending"] else "",
                "reported_kwh": kwh(s["energy_reported_wh"]) if s["energy_reported_wh"] is not None else "",
                "cost": _cost(db, principal, s),
                "running": "1" if s["end_utc"] is None else "",
                "power": watts(power.get(s["transaction_id"])) if s["end_utc"] is None else "",
            }
            for s in d["sessions"]
        ],
        "reservations": [
            {
                "id": str(r["reservation_id"]),
                "connector": str(r["connector_id"]),
                "id_tag": r["id_tag"],
                "expires": when(r["expires_at"], tz),
                "status": r["status"],
                "session": r["transaction_id"] or "—",
            }
            for r in operations.reservations(db, principal, charge_point_id)
        ],
        "uptime": [_uptime_row(m) for m in health.recent_uptime(db, principal, charge_point_id)],
        "messages": [
            {
                "at": when(m["at"], tz),
                "direction": m["direction"],
                "action": m["action"] or "—",
                "payload": _short(m["payload"]),
                "answer": _short(m["error_code"] or m["response"] or ""),
            }
            for m in d["messages"]
        ],
        "configuration": [
            {
                "name": "/".join(filter(None, [c["component"], c["variable"], c["instance"]])),
                "value": _short(c["value"]),
                "mutability": c["mutability"] or "",
            }
            for c in d["configuration"]
        ],
    }


def parse_payload(text: str) -> dict[str, Any]:
    try:
        payload = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"payload: not JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(payload, dict):
        raise InvalidInput("payload: must be a JSON object")
    return payload


def faults_view(db: Session, principal: Principal) -> list[dict[str, str]]:
    return [
        {
            "charger": f["charge_point_id"],
            "connector": str(f["connector_id"]),
            "status": f["status"],
            "error": f["error_code"],  # a code the page words through the catalogue
            "info": " · ".join(x for x in (f["vendor_error_code"], f["info"]) if x),
            "since": when(f["started_at"], f["timezone"]),
            "until": translate("faults.open", current_locale())
            if f["open"]
            else when(f["ended_at"], f["timezone"]),
            "duration": duration_text(f["duration_s"]),
        }
        for f in operations.faults(db, principal)
    ]
