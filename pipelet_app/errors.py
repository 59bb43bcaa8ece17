"""Errors every layer may raise, below all of them: the CLI, services, API and pages share these.

Kept here rather than in `cli/` or `auth/` so lower packages (`tax/`, `services/`) can raise them
without importing those (which import them back: a cycle). `AppError` is the root of what a caller
can act on; `auth.AuthError` (401/403) is one branch of it, and a validation or not-found error is
not an auth error: `except AuthError` no longer swallows them.
"""

from __future__ import annotations


class AppError(Exception):
    """A failure the caller can act on; `status` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(AppError):
    """Another tenant's object looks exactly like a missing one, so existence never leaks."""

    status = 404


class InvalidInput(AppError):
    """Bad input; the message starts with the field's name."""

    status = 422


class BadInput(Exception):
    """Raise with a message that names the field: 'row 3, lifetime_wh: not a number'."""
