"""API keys for `/api/v1`: `pk_<key_id>_<secret>`, shown once, stored as a hash of the secret."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlmodel import Session, select

from pipelet_app import audit
from pipelet_app.auth.errors import NotAuthenticated, NotFound
from pipelet_app.auth.principal import Principal
from pipelet_app.auth.secrets import hash_token, same_hash
from pipelet_app.clock import utcnow
from pipelet_app.db.models import ApiKey, User

PREFIX = "pk"
log = logging.getLogger("pipelet.auth")


def create_api_key(db: Session, user: User, name: str = "", *, actor: Any = None) -> tuple[ApiKey, str]:
    """Returns the stored row and the full key; the key is never retrievable again. Audited (as done by
    `actor`, by default the user themselves) in the same transaction."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(key_id=key_id, secret_hash=hash_token(secret), user_id=user.id, name=name.strip())
    db.add(row)
    audit.record(
        db,
        actor or Principal.of(user),
        "api_key.create",
        "api_key",
        key_id,
        {"user_id": [None, user.id], "name": [None, row.name]},
        tenant_id=user.tenant_id,
    )
    db.commit()
    log.info("API key created", extra={"key_id": key_id, "user_id": user.id})
    db.refresh(row)
    return row, f"{PREFIX}_{key_id}_{secret}"


def revoke_api_key(db: Session, key_id: str, owner: Principal | None = None, *, actor: Any = None) -> ApiKey:
    """Revoke by public key id; with `owner`, only that user's own keys (others look missing). Audited
    as done by `actor` (default: the owner, else the system)."""
    query = select(ApiKey).where(ApiKey.key_id == key_id)
    if owner is not None:
        query = query.where(ApiKey.user_id == owner.user_id)
    row = db.exec(query).first()
    if row is None:
        raise NotFound(f"key_id: no API key {key_id!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.add(row)
        user = db.get(User, row.user_id)
        audit.record(
            db,
            actor or owner,
            "api_key.revoke",
            "api_key",
            key_id,
            {"revoked_at": [None, row.revoked_at]},
            tenant_id=user.tenant_id if user else None,
        )
        db.commit()
        log.info("API key revoked", extra={"key_id": key_id, "user_id": row.user_id})
    return row


def principal_for_key(db: Session, key: str) -> Principal:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise NotAuthenticated("Malformed API key.")
    _, key_id, secret = parts
    row = db.exec(
        select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.key_id == key_id)
    ).first()
    if row is None or not same_hash(row[0].secret_hash, hash_token(secret)):
        raise NotAuthenticated("Unknown API key.")
    api_key, user = row
    if api_key.revoked_at is not None:
        raise NotAuthenticated("This API key has been revoked.")
    if not user.is_active:
        raise NotAuthenticated("This API key's user is disabled.")
    api_key.last_used_at = utcnow()
    db.add(api_key)
    db.commit()
    return Principal.of(user)
