"""Errors every layer may raise, below all of them: the CLI, services, API and pages share these.

Kept here rather than in `cli/` or `auth/` so lower packages (`tax/`, `services/`) can raise them
without importing those (which import them back: a cycle). `AppError` is the root of what a caller
can act on; `auth.AuthError` (401/403) is one branch of it. Validation, not-found, conflict and
"too busy, retry later" are branches of their own, not auth errors: `except AuthError` never swallows
them, and the API maps each by its `status` (plus `Retry-After` from `retry_after_s`).
"""

from __future__ import annotations

from collections.abc import Iterable


def field_path(parts: Iterable[str | int]) -> str:
    """The one way every error names a field inside a document: object keys joined by dots, list positions
    in brackets (`devices[1].asset_id`, `chargingSchedule[0].limit`), as the services write theirs."""
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


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


class Conflict(AppError):
    """The request is valid but clashes with the current state (a charger another operator claimed)."""

    status = 409


class TooBusy(AppError):
    """Refused for load, not for who is asking: the caller should retry after `retry_after_s`."""

    status = 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BadInput(Exception):
    """Raise with a message that names the field: 'row 3, lifetime_wh: not a number'."""
