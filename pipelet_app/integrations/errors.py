"""The errors every integration adapter raises (inverter clouds and charging networks alike): one taxonomy,
so the poll jobs, the connect flows and the texts a driver or an operator reads do not depend on which
kind of vendor answered. ``pipelet_app.inverters.base`` and ``pipelet_app.networks.base`` re-export them.
"""

from __future__ import annotations


class InverterError(Exception):
    """Base of every adapter error. ``str()`` is safe to show a driver and to log (no secrets)."""

    def __init__(self, brand: str, message: str) -> None:
        super().__init__(message)
        self.brand = brand
        self.message = message

    def __str__(self) -> str:
        return f"{self.brand}: {self.message}"


class InvalidCredentials(InverterError):
    """The cloud refused the key/password/code itself. The connect form says so and saves nothing."""


class ReauthRequired(InverterError):
    """Stored credentials stopped working (refresh token expired or revoked): the driver must couple again."""


class Throttled(InverterError):
    """The cloud said "too many requests". Do not retry before ``retry_after_s`` seconds."""

    def __init__(self, brand: str, message: str, retry_after_s: float) -> None:
        super().__init__(brand, message)
        self.retry_after_s = max(1.0, float(retry_after_s))


class BrandUnavailable(InverterError):
    """The cloud is not answering usefully right now (5xx, timeout, unreachable, maintenance page, a value it
    does not have yet): retry the poll later."""


class IntegrationError(InverterError):
    """The cloud answered, and our adapter could not read the answer: a bug or a format we do not know.

    Retrying hot does not help; a developer must look. The account shows "integration error" (a state of its
    own, not "retry later"), the traceback is in the log (``pipelet.inverters`` logger), polling goes on at
    the failure back-off so the account recovers by itself once the adapter is fixed.
    """
