"""Id token authorization shared by both OCPP versions.

Ownership: a token belongs to one tenant. At a charger owned by tenant T, T's own tokens are looked up
first; a token of a *fleet* tenant is honoured anywhere (fleet drivers charge at operators' chargers
and at home wallboxes); a token that only another *operator* owns is Invalid there. An unclaimed charger
(tenant NULL, auto-registered by anybody who knew an unused id) accepts no token at all: it is Invalid
there, so no session it reports is booked to a driver, until an operator claims it. Tokens are compared
case-insensitively (OCPP 1.6 CiString20Type, 2.0.1 IdTokenType: `acme0001` is `ACME0001`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from pipelet_app.clock import utcnow
from pipelet_app.db.models import Charger, IdToken, IdTokenStatus, Tenant, TenantKind
from pipelet_app.ocpp import local_list
from pipelet_app.ocpp.local_list import ListEntry
from pipelet_app.ocpp.timefmt import format_utc


@dataclass(frozen=True, slots=True)
class AuthResult:
    status: str  # Accepted | Blocked | Expired | Invalid (the values both versions share)
    expiry: str | None = None
    parent_id_tag: str | None = None
    driver_id: int | None = None
    token_id: int | None = None

    @property
    def accepted(self) -> bool:
        return self.status == IdTokenStatus.ACCEPTED


def _owned_token(db: Session, charger: Charger | None, token: str) -> IdToken | None:
    if charger is None or charger.tenant_id is None:
        return None
    rows = db.exec(
        select(IdToken, Tenant.kind)
        .join(Tenant, Tenant.id == IdToken.tenant_id)
        .where(func.upper(IdToken.token) == func.upper(token))  # OCPP id tokens are case-insensitive
    ).all()
    if not rows:
        return None
    # An exact spelling wins over another case of the same token (tokens stored before this rule).
    rows = sorted(rows, key=lambda row: row[0].token != token)
    own = [t for t, _ in rows if t.tenant_id == charger.tenant_id]
    if own:
        return own[0]
    fleet = [t for t, kind in rows if kind == TenantKind.FLEET]
    return fleet[0] if len(fleet) == 1 else None


def authorize(db: Session, charger_id: int, token: str) -> AuthResult:
    charger = db.get(Charger, charger_id)
    row = _owned_token(db, charger, token)
    if row is None:
        return AuthResult(IdTokenStatus.INVALID)
    return _result_for(row)


def _result_for(row: IdToken) -> AuthResult:
    expiry = format_utc(row.expires_at) if row.expires_at is not None else None
    status = row.status
    if status == IdTokenStatus.ACCEPTED and row.expires_at is not None and row.expires_at <= utcnow():
        status = IdTokenStatus.EXPIRED
    return AuthResult(
        str(status.value if hasattr(status, "value") else status),
        expiry=expiry,
        parent_id_tag=row.parent_id_tag,
        driver_id=row.driver_id,
        token_id=row.id,
    )


def tenant_list(db: Session, charger: Charger) -> dict[str, ListEntry]:
    """What the charger's local list should hold: its own tenant's tokens with their status now
    (an Accepted token past its expiry is sent as Expired). Unclaimed chargers get nothing."""
    if charger.tenant_id is None:
        return {}
    tokens = db.exec(select(IdToken).where(IdToken.tenant_id == charger.tenant_id)).all()
    entries = {}
    for token in tokens:
        result = _result_for(token)
        entries[token.token] = ListEntry(token.token, result.status, result.expiry, result.parent_id_tag)
    return entries


def local_list_payload(
    db: Session, charger_id: int, ocpp_version: str, update_type: str = local_list.FULL
) -> dict[str, Any]:
    """A SendLocalList for the charger's own tenant's tokens (1.6 and 2.0.1 shapes), numbered one above
    the last version the charger accepted: Full is the whole list; Differential only what changed
    since the list the charger last accepted (see `local_list`)."""
    charger = db.get(Charger, charger_id)
    if charger is None:
        raise LookupError(charger_id)
    return local_list.build_request(db, charger_id, ocpp_version, update_type, tenant_list(db, charger))
