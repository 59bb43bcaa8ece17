"""What the onboarding pages show and send (claim, id tokens, fleet customers, a charger's setup, audit
trails), as plain strings. The rules (role, tenant, validation, audit) are the services'; this module
only converts between form text and their values."""

from __future__ import annotations

from typing import Any

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, Principal
from pipelet_app.i18n.formatting import when
from pipelet_app.operations import charger_admin, identity
from pipelet_app.operations.chargers import own_charger
from pipelet_app.services import fleet_customers, id_tokens
from pipelet_app.services import sites as site_service
from pipelet_app.services.session import Session


def trail(rows: list[dict[str, Any]], tz: str = "UTC") -> list[dict[str, str]]:
    """An audit trail for a table: when (in `tz`), who, what, and the changes in one line."""
    return [
        {
            "at": when(r["at"], tz),
            "actor": r["actor"],
            "action": r["action"],
            "changes": audit.describe(r["changes"]),
        }
        for r in rows
    ]


# ------------------------------------------------------------------------------------ claim


def site_choices(db: Session, principal: Principal) -> list[dict[str, str]]:
    sites = sorted(site_service.list_sites(db, principal), key=lambda s: s["name"])
    return [{"id": str(s["id"]), "name": s["name"]} for s in sites]


def spv_choices(db: Session, principal: Principal) -> list[dict[str, str]]:
    return [{"id": str(s.id), "name": s.name} for s in site_service.sponsored_spvs(db, principal)]


def claim(db: Session, principal: Principal, form: dict[str, Any]) -> dict[str, Any]:
    cp_id = str(form.get("charge_point_id", "")).strip()
    site = str(form.get("site_id", "")).strip()
    if not cp_id:
        raise InvalidInput("charge_point_id: required")
    if not site.isdigit():
        raise InvalidInput("site_id: choose a site")
    claimed = identity.claim_charger(db, principal, cp_id, int(site))
    return {"id": claimed.charge_point_id, "password": claimed.password, "online": claimed.online_version}


# ------------------------------------------------------------------------------------ charger setup


def charger_setup(db: Session, principal: Principal, cp_id: str) -> dict[str, Any]:
    charger = own_charger(db, principal, cp_id)
    tz = charger_admin.charger_timezone(db, principal, cp_id)
    return {
        "form": {
            "display_name": charger.display_name,
            "network": charger.network or "direct",
            "security_profile": str(charger.security_profile),
        },
        "maker": f"{charger.vendor} {charger.model}".strip() or "—",
        "retired": charger.retired_at is not None,
        "firmware": [
            {"version": f["version"], "seen": when(f["seen_utc"], tz)}
            for f in charger_admin.firmware_history(db, principal, cp_id)
        ],
        "history": trail(charger_admin.history(db, principal, cp_id), tz),
    }


def save_charger(db: Session, principal: Principal, cp_id: str, form: dict[str, Any]) -> None:
    network = str(form.get("network", "")).strip()
    values = {
        "display_name": str(form.get("display_name", "")),
        "network": "" if network == "direct" else network,
    }
    charger_admin.update_charger(db, principal, cp_id, values)


def set_profile(db: Session, principal: Principal, cp_id: str, profile: str) -> None:
    if not profile.isdigit():
        raise InvalidInput("security_profile: 0, 1 or 2")
    charger_admin.set_security_profile(db, principal, cp_id, int(profile))


# ------------------------------------------------------------------------------------ id tokens


def _date_to_utc(raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    return raw if "T" in raw else f"{raw}T00:00:00Z"


def tokens_view(db: Session, principal: Principal) -> dict[str, Any]:
    tokens = id_tokens.list_tokens(db, principal)
    drivers = [
        {"id": str(d["id"]), "label": f"{d['name']} ({c['name']})"}
        for c in fleet_customers.list_customers(db, principal)
        for d in fleet_customers.list_drivers(db, principal, c["id"])
    ]
    return {
        "tokens": [
            {
                "token": t["token"],
                "type": t["type"],
                "driver": t["driver_name"] or "",
                "expires": when(t["expires_utc"]) if t["expires_utc"] else "",
                "status": t["status"],
                "blocked": "1" if t["blocked"] else "",
            }
            for t in tokens
        ],
        "drivers": drivers,
    }


def issue_token(db: Session, principal: Principal, form: dict[str, Any]) -> None:
    driver = str(form.get("driver_id", "")).strip()
    id_tokens.issue(
        db,
        principal,
        {
            "token": str(form.get("token", "")).strip(),
            "type": str(form.get("type", "") or "ISO14443"),
            "driver_id": int(driver) if driver.isdigit() else None,
            "expires_utc": _date_to_utc(str(form.get("expires_utc", ""))),
            "blocked": False,
        },
    )


def token_action(db: Session, principal: Principal, token: str, action: str) -> None:
    if action == "block":
        id_tokens.update(db, principal, token, {"blocked": True})
    elif action == "unblock":
        id_tokens.update(db, principal, token, {"blocked": False})
    elif action == "expire":
        id_tokens.expire_now(db, principal, token)
    elif action == "delete":
        id_tokens.delete(db, principal, token)
    else:
        raise InvalidInput(f"action: unknown {action!r}")


def token_history(db: Session, principal: Principal, token: str) -> list[dict[str, str]]:
    return trail(id_tokens.history(db, principal, token))


def import_tokens(db: Session, principal: Principal, text: str) -> dict[str, Any]:
    result = id_tokens.import_csv(db, principal, text)
    return {
        "summary": {k: str(result[k]) for k in ("created", "updated", "unchanged")},
        "errors": [
            {
                "row": str(e["row"]),
                "field": e["field"],
                "message": e["message"],
                "value": str(e["value"] or ""),
            }
            for e in result["errors"]
        ],
    }


# ------------------------------------------------------------------------------------ fleet customers


def customers_view(db: Session, principal: Principal) -> dict[str, Any]:
    customers = fleet_customers.list_customers(db, principal)
    return {
        "customers": [
            {
                "id": str(c["id"]),
                "name": c["name"],
                "drivers": ", ".join(d["name"] for d in fleet_customers.list_drivers(db, principal, c["id"])),
                "history": "; ".join(
                    f"{r['action']} {r['changes']}".strip()
                    for r in trail(fleet_customers.customer_history(db, principal, c["id"]))[:3]
                ),
            }
            for c in customers
        ]
    }


def add_driver(db: Session, principal: Principal, form: dict[str, Any]) -> None:
    fleet = str(form.get("fleet_id", "")).strip()
    if not fleet.isdigit():
        raise InvalidInput("fleet_id: choose a fleet customer")
    fleet_customers.create_driver(
        db, principal, int(fleet), {"name": form.get("name", ""), "email": form.get("email", "")}
    )
