"""Id token authorization shared by both OCPP versions.

Ownership: a token belongs to one tenant. At a charger owned by tenant T, T's own tokens are looked up
first; a token of a *fleet* tenant is honoured anywhere (fleet drivers charge at operators' chargers
and at home wallboxes); a token that only another *operator* owns is Invalid there. An unclaimed charger
(tenant NULL) accepts any token that exactly one tenant owns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from pipelet_app.db.models import Charger, IdToken, IdTokenStatus, Tenant, TenantKind
from pipelet_app.db.types import utcnow
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
    rows = db.exec(
        select(IdToken, Tenant.kind)
        .join(Tenant, Tenant.id == IdToken.tenant_id)
        .where(IdToken.token == token)  # type: ignore[arg-type]
    ).all()
    if not rows:
        return None
    tenant_id = charger.tenant_id if charger is not None else None
    own = [t for t, _ in rows if tenant_id is not None and t.tenant_id == tenant_id]
    if own:
        return own[0]
    if tenant_id is None and len(rows) == 1:
        return rows[0][0]
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


def local_list_payload(db: Session, charger_id: int, ocpp_version: str) -> dict[str, Any]:
    """A full SendLocalList for the charger's own tenant's tokens, numbered one above the last version
    the charger accepted (1.6 and 2.0.1 shapes). Unclaimed chargers get an empty list."""
    charger = db.get(Charger, charger_id)
    if charger is None:
        raise LookupError(charger_id)
    tokens = (
        db.exec(select(IdToken).where(IdToken.tenant_id == charger.tenant_id).order_by(IdToken.token)).all()
        if charger.tenant_id is not None
        else []
    )
    version = charger.local_list_version + 1
    entries = []
    for token in tokens:
        result = _result_for(token)
        if ocpp_version == "1.6":
            info: dict[str, Any] = {"status": result.status}
            if result.expiry:
                info["expiryDate"] = result.expiry
            if result.parent_id_tag:
                info["parentIdTag"] = result.parent_id_tag
            entries.append({"idTag": token.token, "idTagInfo": info})
        else:
            info = {"status": result.status}
            if result.expiry:
                info["cacheExpiryDateTime"] = result.expiry
            if result.parent_id_tag:
                info["groupIdToken"] = {"idToken": result.parent_id_tag, "type": "Central"}
            entries.append({"idToken": {"idToken": token.token, "type": "Central"}, "idTokenInfo": info})
    if ocpp_version == "1.6":
        return {"listVersion": version, "updateType": "Full", "localAuthorizationList": entries}
    return {"versionNumber": version, "updateType": "Full", "localAuthorizationList": entries}
