"""Errors the auth layer raises; the API maps each to an HTTP status and pages to a readable message."""

from __future__ import annotations


class AuthError(Exception):
    """Base class; `status` is the HTTP status the API answers with."""

    status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAuthenticated(AuthError):
    status = 401


class Forbidden(AuthError):
    status = 403


class NotFound(AuthError):
    """Another tenant's object looks exactly like a missing one, so existence never leaks."""

    status = 404


class InvalidInput(AuthError):
    status = 422
