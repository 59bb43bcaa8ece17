"""Users, roles, sessions, invitations, API keys, and the guard every handler calls."""

from pipelet_app.auth.errors import AuthError, Forbidden, InvalidInput, NotAuthenticated, NotFound
from pipelet_app.auth.guard import home_path, require, require_tenant
from pipelet_app.auth.principal import Principal, Role

__all__ = [
    "AuthError",
    "Forbidden",
    "InvalidInput",
    "NotAuthenticated",
    "NotFound",
    "Principal",
    "Role",
    "home_path",
    "require",
    "require_tenant",
]
