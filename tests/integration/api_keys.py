"""API keys and look-ups the integration tests share: one copy instead of one per test file.

`key_of(email)` is the bearer header of a fresh key of a demo user; `key_for` the bare key; `site_of`
the first site (lowest id) of a user's tenant. The API test client is the `client` fixture in
tests/integration/conftest.py.
"""

from __future__ import annotations

from sqlmodel import select

from pipelet_app.auth.api_keys import create_api_key
from pipelet_app.db import session_scope
from pipelet_app.db.models import Site, User


def key_for(email: str, name: str = "test") -> str:
    """A new API key of the existing user `email` (KeyError-like failure when there is none)."""
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == email)).one()
        return create_api_key(db, user, name)[1]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def key_of(email: str, name: str = "test") -> dict[str, str]:
    """The Authorization header of a new API key of `email`."""
    return bearer(key_for(email, name))


def site_of(email: str) -> int:
    """The id of the first site (lowest id) of the tenant `email` belongs to."""
    with session_scope() as db:
        tenant_id = db.exec(select(User.tenant_id).where(User.email == email)).one()
        site_id = db.exec(select(Site.id).where(Site.tenant_id == tenant_id).order_by(Site.id)).first()
        assert site_id is not None, f"{email}'s tenant has no site"
        return site_id
