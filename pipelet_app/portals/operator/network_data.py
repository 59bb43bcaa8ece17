"""Data of `/operator/networks`: each charging-network integration of the tenant with its state, last
successful sync and the cause of its last failure, each network location with the site its sessions
count for, and the connect form (services.networks checks role and tenant)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pipelet_app.auth import InvalidInput, NotFound, Principal, Role, require
from pipelet_app.errors import Conflict
from pipelet_app.i18n import formatting as fmt
from pipelet_app.i18n.catalogue import translate
from pipelet_app.i18n.words import label
from pipelet_app.networks.registry import ADAPTERS, adapter_class
from pipelet_app.portals.operator.credential_fields import merged_fields
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
            "name": f"{a['display_name']} {a['label']}".strip(),  # the replace form's choice
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
    # the connect form offers the networks this installation can reach (the others are refused anyway)
    choices = [
        {"id": t["network"], "name": t["display_name"]} for t in service.catalogue() if t["configured"]
    ]
    return {
        "accounts": rows,
        "available": available,
        "locations": locations,
        "sites": sites,
        "choices": choices,
    }


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


def connect_inputs() -> list[tuple[str, list[str], bool]]:
    """The connect form's credential inputs: (field name, the networks that ask for it, secret), one per
    distinct field name; the form posts them all and `connect` keeps the chosen network's."""
    classes = [adapter_class(network) for network in ADAPTERS]
    return merged_fields((cls.display_name, cls.credential_fields) for cls in classes)


def connect(db: Session, principal: Principal, form: dict[str, Any]) -> int:
    """The connect form: the operator's role first, then what POST /api/v1/networks does — the same
    checks and live test (`services.networks.tested_credentials`), then `save_account` in the caller's
    tenant. The new account's id (for the scheduler's wake-up). The credentials go to the service only:
    never returned, kept in state or logged; a failure is a form error naming the field.

    Runs on a worker thread (`_guarded_off_loop`), so the test call gets its own event loop there."""
    require(principal, Role.OPERATOR)
    if principal.tenant_id is None:
        raise NotFound("Not found.")
    network = str(form.get("network", "") or "").strip()
    account = str(form.get("label", "") or "").strip()
    fields = adapter_class(network).credential_fields if network in ADAPTERS else ()
    credentials = {f.name: str(form.get(f.name, "") or "") for f in fields}
    try:
        tested = asyncio.run(service.tested_credentials(network, account, credentials))
        return int(service.save_account(db, principal, network, account, tested)["id"])
    except InvalidInput as error:
        raise InvalidInput(_worded(error.message)) from None
    except service.NetworkUnreachable as error:  # a form error here, not a refusal of the whole page
        raise InvalidInput(_say("error.network_unreachable", detail=error.message)) from None
    except Conflict:  # the only conflict of save_account: the label is taken for this network
        raise InvalidInput(_say("error.network_label_taken", label=account)) from None


def replace_credentials(db: Session, principal: Principal, form: dict[str, Any]) -> int:
    """The replace form (rotated key or password): what PUT /api/v1/networks/{id}/credentials does — the
    account found in the caller's tenant first (another tenant's reads as missing), then the connect
    checks and live test, then the new credentials stored encrypted in place, so the account keeps its
    id, sessions, chargers and location mappings. Refused credentials store nothing and leave the old ones
    in force. Answers the account's id (for the scheduler's wake-up). Runs on a worker thread."""
    require(principal, Role.OPERATOR)
    account = str(form.get("account", "") or "").strip()
    if not account.isdigit():
        raise InvalidInput(_say("error.network_account_choose"))
    network = service.account_network(db, principal, int(account))
    credentials = {f.name: str(form.get(f.name, "") or "") for f in adapter_class(network).credential_fields}
    try:
        tested = asyncio.run(service.tested_credentials(network, "", credentials))
    except InvalidInput as error:
        raise InvalidInput(_worded(error.message)) from None
    except service.NetworkUnreachable as error:
        raise InvalidInput(_say("error.network_unreachable", detail=error.message)) from None
    service.replace_credentials(db, principal, int(account), tested)
    return int(account)


def _say(key: str, **args: str) -> str:
    return translate(key, fmt.current_locale()).format(**args)


_REFUSED_STATUS = re.compile(r"\((\d{3})\)")


def _worded(message: str) -> str:
    """The service's refusals of the form (`services.networks.check_connect`, the live test) in the page's
    language, each naming the field; one the form cannot send (a forged field) stays as it is."""
    where, _, detail = message.partition(": ")
    if where == "credentials":
        # the adapters' English ("the network refused the credentials (401); connect the account
        # again") adds only the HTTP status; its advice misleads on the replace form (the stored
        # credentials stay in force)
        if status := _REFUSED_STATUS.search(detail):
            return _say("error.network_refused_status", status=status[1])
        return _say("error.network_refused")
    if where.startswith("credentials.") and detail == "required":
        field = where.removeprefix("credentials.")
        return _say("error.network_field_required", field=label("network_field", field, fmt.current_locale()))
    if where == "network" and detail.startswith("one of"):
        return _say("error.network_choose")
    return message
