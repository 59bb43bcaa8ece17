"""Shared by the security suite: the web app's HTTP layer in-process, and API keys of demo users."""

from __future__ import annotations

from sqlmodel import select

from pipelet_app.api import build_api
from pipelet_app.auth.api_keys import create_api_key
from pipelet_app.db import session_scope
from pipelet_app.db.models import User
from pipelet_app.runtime.web_guard import web_guard


def guarded_api():
    """`/api/v1` and `/auth` inside the same guard the Reflex app wraps them in (pipelet_app.py)."""
    return web_guard(build_api())


def bearer(email: str) -> dict[str, str]:
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == email)).one()
        return {"Authorization": f"Bearer {create_api_key(db, user)[1]}"}
