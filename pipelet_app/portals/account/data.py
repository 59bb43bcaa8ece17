"""The signed-in user's own API keys (the language: `services.account`)."""

from __future__ import annotations

from sqlmodel import Session, select

from pipelet_app.auth import Principal
from pipelet_app.auth.api_keys import create_api_key, revoke_api_key
from pipelet_app.db.models import ApiKey, User
from pipelet_app.portals.formatting import when


def my_api_keys(db: Session, principal: Principal) -> list[dict]:
    keys = db.exec(
        select(ApiKey)
        .where(ApiKey.user_id == principal.user_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at.desc())
    ).all()
    return [
        {
            "key_id": k.key_id,
            "name": k.name or "—",
            "created": when(k.created_at),
            "last_used": when(k.last_used_at),
        }
        for k in keys
    ]


def create_my_api_key(db: Session, principal: Principal, name: str) -> str:
    user = db.get(User, principal.user_id)
    assert user is not None
    _, key = create_api_key(db, user, name)
    return key


def revoke_my_api_key(db: Session, principal: Principal, key_id: str) -> None:
    revoke_api_key(db, key_id, owner=principal)
