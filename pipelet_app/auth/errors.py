"""Errors the auth layer raises; the API maps each to an HTTP status and pages to a readable message.

`NotFound` and `InvalidInput` live in `pipelet_app.errors` (they are not auth failures) and are
re-exported here because most callers import them with `require` from `pipelet_app.auth`.
"""

from __future__ import annotations

from pipelet_app.errors import AppError, InvalidInput, NotFound

__all__ = ["AuthError", "Forbidden", "InvalidInput", "NotAuthenticated", "NotFound"]


class AuthError(AppError):
    """Not signed in (401) or not allowed (403)."""

    status = 401


class NotAuthenticated(AuthError):
    status = 401


class Forbidden(AuthError):
    status = 403
