"""Partners' TINs at rest: Fernet under a key derived from PIPELET_SECRET_KEY, never logged.

Why a purpose of its own (HKDF info) rather than the inverter-credential key: a leak or rotation of one
kind of secret should not expose or disturb the other; both still derive from the one installation key,
and keys in PIPELET_SECRET_KEY_PREVIOUS keep decrypting during a rotation.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken, MultiFernet

from pipelet_app.errors import BadInput
from pipelet_app.keys import MissingSecretKey, fernet

_PURPOSE = b"pipelet/partner-tin/v1"


class TinKeyError(BadInput):
    """The TIN cannot be encrypted or decrypted with the configured keys.

    A `BadInput` (a configuration problem, not a bug), so every command ends with one line naming
    PIPELET_SECRET_KEY instead of a traceback."""


def _keys() -> MultiFernet:
    try:
        return fernet(_PURPOSE)
    except MissingSecretKey as exc:
        raise TinKeyError(f"{exc}; partners' TINs cannot be stored or read") from None


def encrypt_tin(tin: str) -> str:
    """Ciphertext for a TIN as given (dashes kept: the K-1 prints it in its own layout)."""
    return _keys().encrypt(tin.strip().encode()).decode("ascii")


def decrypt_tin(token: str | None) -> str:
    """The TIN, or "" when none is stored (the K-1 rule K1-TIN then reports it missing)."""
    if not token:
        return ""
    try:
        return _keys().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise TinKeyError(
            "PIPELET_SECRET_KEY: a stored TIN cannot be decrypted with it (or PIPELET_SECRET_KEY_PREVIOUS)"
        ) from exc


def masked(tin: str) -> str:
    """For screens and logs: the last four digits only."""
    digits = "".join(ch for ch in tin if ch.isdigit())
    return f"***-**-{digits[-4:]}" if len(digits) >= 4 else "—"
