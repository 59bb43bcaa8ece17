"""The unit of work a caller of the services holds: one database session per request or page handler.

Pages and API routes open it (`session_scope()`: commit on success, roll back on error) and hand it to
service functions, which do every query themselves. Callers get it from here, not from `pipelet_app.db`
or sqlmodel, so the import contract "portals and API import no database layer" (pyproject.toml) can
hold: to a page the session is an opaque handle it passes on, never something it builds queries on.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from pipelet_app.db import session_scope

__all__ = ["Session", "ping", "session_scope"]


def ping(db: Session) -> None:
    """One round trip to the database (`GET /api/v1/health`); raises when it does not answer."""
    db.exec(text("SELECT 1"))
