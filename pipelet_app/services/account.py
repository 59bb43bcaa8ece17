"""The signed-in user's own settings: the language every page needs, and their own API keys.

A service rather than part of `portals/account/data.py` because `portals/session_state.py`, which
every portal page (the account pages included) builds on, calls it: keeping it in `portals/account`
made session_state and the account portal import each other.
"""

from __future__ import annotations

from sqlmodel import Session, select

from pipelet_app.auth import InvalidInput, Principal
from pipelet_app.auth.api_keys import create_api_key, revoke_api_key
from pipelet_app.db.models import ApiKey, Tenant, User
from pipelet_app.i18n import LOCALES


def set_my_locale(db: Session, principal: Principal, locale: str) -> None:
    """Store the caller's language; any signed-in role may set its own, and only its own."""
    if locale not in LOCALES:
        raise InvalidInput(f"locale: one of {', '.join(LOCALES)}")
    user = db.get(User, principal.user_id)
    assert user is not None
    user.locale = locale
    db.add(user)
    db.commit()


def my_api_keys(db: Session, principal: Principal) -> list[ApiKey]:
    """The caller's own keys that still work, newest first (any role; never another user's)."""
    return list(
        db.exec(
            select(ApiKey)
            .where(ApiKey.user_id == principal.user_id, ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.created_at.desc())
        ).all()
    )


def create_my_api_key(db: Session, principal: Principal, name: str) -> str:
    """A new key for the caller; the secret is returned once and stored only as a hash."""
    user = db.get(User, principal.user_id)
    assert user is not None
    _, key = create_api_key(db, user, name)
    return key


def revoke_my_api_key(db: Session, principal: Principal, key_id: str) -> None:
    """Revoke one of the caller's own keys (another user's key is not found)."""
    revoke_api_key(db, key_id, owner=principal)


def my_tenant_name(db: Session, principal: Principal) -> str:
    """The name of the caller's own tenant (printed on its reports); "" for a user without one."""
    tenant = db.get(Tenant, principal.tenant_id) if principal.tenant_id is not None else None
    return tenant.name if tenant is not None else ""
