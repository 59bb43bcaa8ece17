"""An operator's charging-network accounts: connect (with a live test), list with their state, sync now,
replace credentials, disconnect, what each brought in, and which of the tenant's sites each network
location is (so the location's sessions count for that site in its reports).

Every function checks the operator role and the tenant itself; another tenant's account answers exactly like
a missing one (404). Credentials are encrypted at once (``inverters.credentials``, the inverter keys and
rotation), never returned, never logged and never audited (the audit row names the fields, not values).
Bad input raises ``InvalidInput`` starting with the field's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, delete, func, select, update

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, NotFound, Principal, require, require_tenant
from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    ChargingSession,
    NetworkAccount,
    NetworkChargerRow,
    NetworkLocationSite,
    NetworkStatus,
    Role,
    Site,
)
from pipelet_app.errors import AppError, Conflict
from pipelet_app.inverters.credentials import encrypt_credentials
from pipelet_app.networks.base import (
    InvalidCredentials,
    InverterError,
    NetworkAdapter,
    ReauthRequired,
    transaction_prefix,
)
from pipelet_app.networks.registry import ADAPTERS, adapter_class
from pipelet_app.services.sites import own_site
from pipelet_app.settings import get_settings

MAX_CREDENTIAL = 4096


def catalogue() -> list[dict[str, Any]]:
    """The networks an operator can connect, their credential fields (names only) and whether this
    installation knows where their API is."""
    out = []
    for name in ADAPTERS:
        cls = adapter_class(name)
        out.append(
            {
                "network": name,
                "display_name": cls.display_name,
                "auth_kind": cls.auth_kind,
                "fields": [
                    {"name": f.name, "label": f.label, "secret": f.secret} for f in cls.credential_fields
                ],
                "configured": bool(get_settings().network_api_base(name)),
                "source": cls.source_note,
            }
        )
    return out


def _own(db: Session, principal: Principal, account_id: int) -> NetworkAccount:
    require(principal, Role.OPERATOR)
    account = db.get(NetworkAccount, account_id)
    if account is None:
        raise NotFound("Not found.")
    require_tenant(principal, account.tenant_id)
    return account


def _out(account: NetworkAccount, chargers: int) -> dict[str, Any]:
    cls = adapter_class(account.network)
    return {
        "id": account.id,
        "network": account.network,
        "display_name": cls.display_name,
        "label": account.label,
        "status": account.status,
        "last_success_utc": account.last_success_utc,
        "last_poll_utc": account.last_poll_utc,
        "next_poll_utc": account.next_poll_utc,
        "last_error": account.last_error,
        "last_error_utc": account.last_error_utc,
        "failures": account.failures,
        "sessions": account.sessions_synced,
        "chargers": chargers,
        "skipped": list(account.skipped or []),
        "created_at": account.created_at,
    }


def _charger_counts(db: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = db.exec(
        select(NetworkChargerRow.account_id, func.count())
        .where(col(NetworkChargerRow.account_id).in_(ids))
        .group_by(col(NetworkChargerRow.account_id))
    ).all()
    return {int(a): int(n) for a, n in rows}


def list_accounts(db: Session, principal: Principal) -> list[dict[str, Any]]:
    require(principal, Role.OPERATOR)
    accounts = db.exec(
        select(NetworkAccount)
        .where(NetworkAccount.tenant_id == principal.tenant_id)
        .order_by(col(NetworkAccount.network), col(NetworkAccount.label), col(NetworkAccount.id))
    ).all()
    counts = _charger_counts(db, [a.id for a in accounts if a.id is not None])
    return [_out(a, counts.get(a.id or 0, 0)) for a in accounts]


def get_account(db: Session, principal: Principal, account_id: int) -> dict[str, Any]:
    account = _own(db, principal, account_id)
    return _out(account, _charger_counts(db, [account_id]).get(account_id, 0))


def check_connect(network: str, label: str, credentials: Mapping[str, Any]) -> dict[str, str]:
    """The credentials as the adapter expects them, or InvalidInput naming the field."""
    if network not in ADAPTERS:
        raise InvalidInput(f"network: one of {', '.join(ADAPTERS)}")
    if len(label) > 200:
        raise InvalidInput("label: at most 200 characters")
    if not get_settings().network_api_base(network):
        raise InvalidInput(f"network: {network.upper()}_API_BASE is not set on this installation")
    clean: dict[str, str] = {}
    for f in adapter_class(network).credential_fields:
        value = credentials.get(f.name)
        if not isinstance(value, str) or not value.strip():
            if f.required:
                raise InvalidInput(f"credentials.{f.name}: required")
            continue
        if len(value) > MAX_CREDENTIAL:
            raise InvalidInput(f"credentials.{f.name}: at most {MAX_CREDENTIAL} characters")
        clean[f.name] = value.strip()
    unknown = set(credentials) - {f.name for f in adapter_class(network).credential_fields}
    if unknown:
        raise InvalidInput(f"credentials.{sorted(unknown)[0]}: not a field of {network}")
    return clean


async def live_test(
    network: str, credentials: dict[str, str], *, base_url: str | None = None
) -> dict[str, str]:
    """Call the network with the credentials; raises the adapter's error (its text is operator-safe).
    Returns the credentials to store (an OAuth2 network adds its token)."""
    adapter: NetworkAdapter = adapter_class(network)(credentials, base_url=base_url)
    async with adapter:
        await adapter.test_credentials()
        return dict(adapter.credentials)


class NetworkUnreachable(AppError):
    """The live test could not reach the network or was throttled: nothing stored, try again."""

    status = 502


async def tested_credentials(network: str, label: str, credentials: Mapping[str, Any]) -> dict[str, str]:
    """What connecting (the API's POST and PUT, the page's form) stores: the input checked
    (``check_connect``), then tested live. Refused credentials are ``InvalidInput`` naming ``credentials``;
    an unreachable or throttling network is ``NetworkUnreachable``. The adapters' texts carry no secret."""
    clean = check_connect(network, label, credentials)
    try:
        return await live_test(network, clean)
    except (InvalidCredentials, ReauthRequired) as error:
        raise InvalidInput(f"credentials: {error}") from None
    except InverterError as error:
        raise NetworkUnreachable(str(error)) from None


def save_account(
    db: Session, principal: Principal, network: str, label: str, credentials: Mapping[str, Any]
) -> dict[str, Any]:
    """Store a tested account, due for its first poll now. 409 when the tenant has this label already."""
    require(principal, Role.OPERATOR)
    if principal.tenant_id is None:
        raise NotFound("Not found.")
    taken = db.exec(
        select(NetworkAccount.id).where(
            NetworkAccount.tenant_id == principal.tenant_id,
            NetworkAccount.network == network,
            NetworkAccount.label == label,
        )
    ).first()
    if taken is not None:
        raise Conflict(f"label: your tenant has a {network} account named {label!r} already")
    now = utcnow()
    account = NetworkAccount(
        tenant_id=principal.tenant_id,
        network=network,
        label=label,
        credentials_enc=encrypt_credentials(dict(credentials)),
        next_poll_utc=now,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    db.add(account)
    db.flush()
    assert account.id is not None
    audit.record(
        db,
        principal,
        "network.connected",
        "network_account",
        account.id,
        {"network": [None, network], "label": [None, label]},
    )
    return _out(account, 0)


def replace_credentials(
    db: Session, principal: Principal, account_id: int, credentials: Mapping[str, Any]
) -> dict[str, Any]:
    """New (tested) credentials for an account, e.g. after ``reauth-needed``; due for a poll now."""
    account = _own(db, principal, account_id)
    account.credentials_enc = encrypt_credentials(dict(credentials))
    account.status, account.failures = NetworkStatus.PENDING.value, 0
    account.next_poll_utc = account.updated_at = utcnow()
    account.lease_until_utc = None
    db.add(account)
    audit.record(db, principal, "network.credentials_replaced", "network_account", account_id, None)
    return get_account(db, principal, account_id)


def account_network(db: Session, principal: Principal, account_id: int) -> str:
    return _own(db, principal, account_id).network


def request_sync(db: Session, principal: Principal, account_id: int) -> dict[str, Any]:
    """Make the account due now (the scheduler picks it up; an account being polled is not disturbed)."""
    account = _own(db, principal, account_id)
    if account.credentials_enc is None:
        raise Conflict("account: disconnected")
    account.next_poll_utc = utcnow()
    db.add(account)
    return get_account(db, principal, account_id)


def disconnect(db: Session, principal: Principal, account_id: int) -> None:
    """Forget the credentials, discovered chargers and location mappings; the sessions it brought in stay
    (they happened), with the site they were counted for."""
    account = _own(db, principal, account_id)
    db.exec(delete(NetworkChargerRow).where(col(NetworkChargerRow.account_id) == account_id))  # type: ignore[call-overload]
    db.exec(delete(NetworkLocationSite).where(col(NetworkLocationSite.account_id) == account_id))  # type: ignore[call-overload]
    audit.record(
        db,
        principal,
        "network.disconnected",
        "network_account",
        account_id,
        {"network": [account.network, None]},
    )
    db.delete(account)


def account_chargers(db: Session, principal: Principal, account_id: int) -> list[dict[str, Any]]:
    _own(db, principal, account_id)
    rows = db.exec(
        select(NetworkChargerRow)
        .where(NetworkChargerRow.account_id == account_id)
        .order_by(col(NetworkChargerRow.id))
    ).all()
    return [
        {
            "external_id": r.external_id,
            "name": r.name,
            "site": r.site_name,
            "vendor": r.vendor,
            "model": r.model,
            "serial": r.serial,
            "connectors": r.connectors,
            "charger_id": r.charger_id,
        }
        for r in rows
    ]


def account_sessions(
    db: Session, principal: Principal, account_id: int, *, limit: int = 100, before: datetime | None = None
) -> list[dict[str, Any]]:
    """The network's sessions in the caller's tenant, newest first."""
    account = _own(db, principal, account_id)
    prefix = transaction_prefix(account.network, account.tenant_id)
    query = select(ChargingSession).where(col(ChargingSession.transaction_id).startswith(prefix))
    if before is not None:
        query = query.where(col(ChargingSession.start_utc) < before)
    rows = db.exec(query.order_by(col(ChargingSession.start_utc).desc()).limit(max(1, min(limit, 500)))).all()
    return [
        {
            "transaction_id": s.transaction_id,
            "session_id": s.transaction_id[len(prefix) :],
            "station_id": s.station_id,
            "charger_id": s.charger_id,
            "connector_id": s.connector_id,
            "start_utc": s.start_utc,
            "end_utc": s.end_utc,
            "energy_wh": s.energy_wh,
            "cost": s.cost,
            "currency": s.currency,
        }
        for s in rows
    ]


MAX_LOCATION_ID = 200  # network_location_sites.location_id


def station_sites(db: Session, account_id: int, location_id: str | None = None) -> dict[str, int | None]:
    """The account's discovered chargers (by the network's charger id) and the site their location is
    mapped to (None: not mapped); only the chargers at `location_id` when given."""
    query = (
        select(NetworkChargerRow.external_id, NetworkLocationSite.site_id)
        .select_from(NetworkChargerRow)
        .outerjoin(
            NetworkLocationSite,
            (col(NetworkLocationSite.account_id) == col(NetworkChargerRow.account_id))
            & (col(NetworkLocationSite.location_id) == col(NetworkChargerRow.site_external_id)),
        )
        .where(NetworkChargerRow.account_id == account_id)
    )
    if location_id is not None:
        query = query.where(NetworkChargerRow.site_external_id == location_id)
    return {external_id: site_id for external_id, site_id in db.exec(query).all()}


def account_locations(db: Session, principal: Principal, account_id: int) -> list[dict[str, Any]]:
    """The account's network locations (the sites the network reports its chargers at), each with the
    site of this tenant the operator mapped it to. Chargers the network places at no location are not
    listed (there is nothing to map)."""
    _own(db, principal, account_id)
    chargers = db.exec(
        select(NetworkChargerRow).where(
            NetworkChargerRow.account_id == account_id, col(NetworkChargerRow.site_external_id) != ""
        )
    ).all()
    mapped = {
        m.location_id: m.site_id
        for m in db.exec(
            select(NetworkLocationSite).where(NetworkLocationSite.account_id == account_id)
        ).all()
    }
    names = dict(
        db.exec(select(Site.id, Site.name).where(col(Site.id).in_(sorted(set(mapped.values()))))).all()
    )
    out: dict[str, dict[str, Any]] = {
        location: {"location_id": location, "name": "", "chargers": 0, "linked_chargers": 0}
        for location in mapped  # a mapped location the network no longer reports stays visible
    }
    for c in chargers:
        row = out.setdefault(
            c.site_external_id,
            {"location_id": c.site_external_id, "name": "", "chargers": 0, "linked_chargers": 0},
        )
        row["name"] = row["name"] or c.site_name
        row["chargers"] += 1
        row["linked_chargers"] += c.charger_id is not None
    for row in out.values():
        site_id = mapped.get(row["location_id"])
        row["site_id"], row["site"] = site_id, names.get(site_id) if site_id is not None else None
    return sorted(out.values(), key=lambda r: (r["name"].casefold(), r["location_id"]))


def set_location_site(
    db: Session, principal: Principal, account_id: int, location_id: str, site_id: int | None
) -> dict[str, Any]:
    """Map a network location of the account to one of the caller's sites (None: unmap). The sessions of
    the location's chargers are counted for that site from now on, the ones already stored included; a
    charger identified as a Pipelet charger still counts for its own charger's site."""
    account = _own(db, principal, account_id)
    if not location_id.strip():
        raise InvalidInput("location_id: required")
    if len(location_id) > MAX_LOCATION_ID:
        raise InvalidInput(f"location_id: at most {MAX_LOCATION_ID} characters")
    current = db.get(NetworkLocationSite, (account_id, location_id))
    stations = station_sites(db, account_id, location_id)
    if current is None and not stations:
        raise InvalidInput("location_id: not a location of this network account (GET .../locations)")
    if site_id is not None:
        try:
            own_site(db, principal, site_id)
        except NotFound:
            raise NotFound("site_id: no such site") from None  # another tenant's site reads as missing
    before = current.site_id if current is not None else None
    if site_id is None and current is not None:
        db.delete(current)
    elif site_id is not None:
        row = current or NetworkLocationSite(
            account_id=account_id, location_id=location_id, tenant_id=account.tenant_id, site_id=site_id
        )
        row.site_id, row.updated_by, row.updated_at = site_id, principal.user_id, utcnow()
        db.add(row)
    if stations:
        db.exec(
            update(ChargingSession)  # type: ignore[call-overload]
            .where(
                col(ChargingSession.transaction_id).startswith(
                    transaction_prefix(account.network, account.tenant_id)
                ),
                col(ChargingSession.station_id).in_(sorted(stations)),
            )
            .values(network_site_id=site_id)
        )
    if before != site_id:
        audit.record(
            db,
            principal,
            "network.location_site",
            "network_account",
            account_id,
            {"location_id": [location_id, location_id], "site_id": [before, site_id]},
        )
    db.flush()
    return next(r for r in account_locations(db, principal, account_id) if r["location_id"] == location_id)
