"""Data of `/operator/networks`: each charging-network integration of the tenant with its state, last
successful sync and the cause of its last failure (services.networks checks role and tenant)."""

from __future__ import annotations

from typing import Any

from pipelet_app.auth import Principal
from pipelet_app.i18n import formatting as fmt
from pipelet_app.i18n.words import label
from pipelet_app.services import networks as service
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
    return {"accounts": rows, "available": available}


def sync_now(db: Session, principal: Principal, account_id: str) -> int:
    """Make the account due now; answers its id for the scheduler's wake-up."""
    if not str(account_id).isdigit():
        from pipelet_app.auth import NotFound

        raise NotFound("Not found.")
    service.request_sync(db, principal, int(account_id))
    return int(account_id)
