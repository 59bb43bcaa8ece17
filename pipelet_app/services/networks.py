"""An operator's charging-network accounts: connect (with a live test), list with their state, sync now,
replace credentials, disconnect, and what each brought in.

Every function checks the operator role and the tenant itself; another tenant's account answers exactly like
a missing one (404). Credentials are encrypted at once (``inverters.credentials``, the inverter keys and
rotation), never returned, never logged and never audited (the audit row names the fields, not values).
Bad input raises ``InvalidInput`` starting with the field's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, delete, func, select

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, NotFound, Principal, require, require_tenant
from pipelet_app.clock import utcnow
from pipelet_app.db.models import ChargingSession, NetworkAccount, NetworkChargerRow, NetworkStatus, Role
from pipelet_app.errors import Conflict
from pipelet_app.inverters.credentials import encrypt_credentials
from pipelet_app.networks.base import NetworkAdapter, transaction_prefix
from pipelet_app.networks.registry import ADAPTERS, adapter_class
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
    """Forget the credentials and discovered chargers; the sessions it brought in stay (they happened)."""
    account = _own(db, principal, account_id)
    db.exec(delete(NetworkChargerRow).where(col(NetworkChargerRow.account_id) == account_id))  # type: ignore[call-overload]
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
