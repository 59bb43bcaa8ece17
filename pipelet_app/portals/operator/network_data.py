"""Data of `/operator/networks`: each charging-network integration of the tenant with its state, last
successful sync and the cause of its last failure, and each network location with the site its sessions
count for (services.networks checks role and tenant)."""

from __future__ import annotations

from typing import Any

from pipelet_app.auth import InvalidInput, NotFound, Principal
from pipelet_app.i18n import formatting as fmt
from pipelet_app.i18n.words import label
from pipelet_app.services import networks as service
from pipelet_app.services import sites as site_service
from pipelet_app.services.session import Session


def networks_view(db: Session, principal: Principal) -> dict[str, Any]:
    """Rows of strings for the page: one per connected account, then the networks one can connect."""
    accounts = service.list_accounts(db, principal)
    locale = fmt.current_locale()
    rows = [
        {
            "id": str(a["id"]),
            "network": a["display_name"],
            "label": a["label"] or "—",
            "status": a["status"],
            "last_success": fmt.when(a["last_success_utc"]) if a["last_success_utc"] else "—",
            "last_error": (
                f"{fmt.when(a['last_error_utc'])}: {a['last_error']}"
                if a["last_error"] and a["last_error_utc"]
                else "—"
            ),
            "skipped": "; ".join(
                f"{label('skipped_kind', s['kind'], locale)} {s['ref']}: {s['reason']}"
                for s in a["skipped"][:5]
            )
            + (f" (+{len(a['skipped']) - 5})" if len(a["skipped"]) > 5 else ""),
            "sessions": str(a["sessions"]),
            "chargers": str(a["chargers"]),
        }
        for a in accounts
    ]
    available = [
        {
            "network": t["display_name"],
            "auth": t["auth_kind"],  # a code the page words through the catalogue (`network_auth.*`)
            "fields": ", ".join(f["name"] for f in t["fields"]),
            "configured": "yes" if t["configured"] else "no",
            "source": t["source"],
        }
        for t in service.catalogue()
    ]
    locations = [
        {
            "account_id": str(a["id"]),
            "account": f"{a['display_name']} {a['label']}".strip(),
            "location_id": loc["location_id"],
            "name": loc["name"] or loc["location_id"],
            "chargers": f"{loc['chargers']} ({loc['linked_chargers']})"
            if loc["linked_chargers"]
            else str(loc["chargers"]),
            "site_id": str(loc["site_id"]) if loc["site_id"] is not None else NO_SITE,
        }
        for a in accounts
        for loc in service.account_locations(db, principal, a["id"])
    ]
    sites = [{"id": str(s["id"]), "name": s["name"]} for s in site_service.list_sites(db, principal)]
    return {"accounts": rows, "available": available, "locations": locations, "sites": sites}


NO_SITE = "none"  # the select's value for "counts for no site" (a select item cannot be empty)


def map_location(db: Session, principal: Principal, account_id: str, location_id: str, site: str) -> None:
    """Set the site a network location's sessions count for (`NO_SITE`: none)."""
    if not str(account_id).isdigit():
        raise NotFound("Not found.")
    if site != NO_SITE and not site.isdigit():
        raise InvalidInput("site_id: one of your sites")
    service.set_location_site(
        db, principal, int(account_id), location_id, None if site == NO_SITE else int(site)
    )


def sync_now(db: Session, principal: Principal, account_id: str) -> int:
    """Make the account due now; answers its id for the scheduler's wake-up."""
    if not str(account_id).isdigit():
        raise NotFound("Not found.")
    service.request_sync(db, principal, int(account_id))
    return int(account_id)
