"""The signed-in user's own API keys as the account page shows them; the rules are `services.account`'s."""

from __future__ import annotations

from pipelet_app.auth import Principal
from pipelet_app.i18n.formatting import when
from pipelet_app.services import account
from pipelet_app.services.account import create_my_api_key, revoke_my_api_key
from pipelet_app.services.session import Session

__all__ = ["create_my_api_key", "my_api_keys", "revoke_my_api_key"]


def my_api_keys(db: Session, principal: Principal) -> list[dict]:
    return [
        {
            "key_id": k.key_id,
            "name": k.name or "—",
            "created": when(k.created_at),
            "last_used": when(k.last_used_at),
        }
        for k in account.my_api_keys(db, principal)
    ]
