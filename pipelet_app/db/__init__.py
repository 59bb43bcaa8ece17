"""Database access shared by the web app, the CSMS and the workers."""

from pipelet_app.db.engine import get_engine, reset_engine, session_scope

__all__ = ["get_engine", "reset_engine", "session_scope"]
