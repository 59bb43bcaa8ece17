"""Exceptions of the CSMS, split by who sees them.

`CallRejected` becomes a CallError to the charger. The `Command*` family is what callers of the command
bus (web app, API) catch: each maps to one HTTP status, so the API never has to inspect messages.
"""

from __future__ import annotations


class CallRejected(Exception):
    """A charger's Call is answered with a CallError; `code` uses the 2.0.1 spelling (see framing)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class CommandError(Exception):
    """Base of everything `send_command` raises."""

    http_status = 500


class ChargerOffline(CommandError):
    """No CSMS node holds a socket for this charger (→ 409)."""

    http_status = 409


class CsmsUnavailable(CommandError):
    """No CSMS process answers this process's commands (not running, or the command path is misconfigured):
    a fault of the platform, not of the charger, so it is not reported as "charger offline" (→ 503)."""

    http_status = 503


class CommandTimeout(CommandError):
    """The charger did not answer in time (→ 504)."""

    http_status = 504


class UnknownCommand(CommandError):
    """The command name is not one the charger's OCPP version knows (→ 404)."""

    http_status = 404


class InvalidCommandPayload(CommandError):
    """The payload fails the OCPP schema of the action (→ 422); nothing was sent."""

    http_status = 422


class EffectNotSaved(CommandError):
    """The charger accepted the command but storing its effect failed (logged with its traceback), so
    the caller must not be told it succeeded (→ 500)."""

    http_status = 500


class CommandCallError(CommandError):
    """The charger answered with a CallError (→ 502); `code` and `description` are the charger's."""

    http_status = 502

    def __init__(self, code: str, description: str, details: object = None) -> None:
        super().__init__(f"charger answered CallError {code}: {description}")
        self.code = code
        self.description = description
        self.details = details
