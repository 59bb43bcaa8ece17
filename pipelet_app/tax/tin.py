"""Partners' TINs at rest: Fernet under a key derived from PIPELET_SECRET_KEY, never logged.

Why a purpose of its own (HKDF info) rather than the inverter-credential key: a leak or rotation of one
kind of secret should not expose or disturb the other; both still derive from the one installation key,
and keys in PIPELET_SECRET_KEY_PREVIOUS keep decrypting during a rotation.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pipelet_app.errors import BadInput
from pipelet_app.settings import get_settings

_PURPOSE = b"pipelet/partner-tin/v1"


class TinKeyError(BadInput):
    """The TIN cannot be encrypted or decrypted with the configured keys.

    A `BadInput` (a configuration problem, not a bug), so every command ends with one line naming
    PIPELET_SECRET_KEY instead of a traceback."""


@lru_cache(maxsize=16)
def _fernet(secret: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


def _keys() -> MultiFernet:
    settings = get_settings()
    keys = [settings.pipelet_secret_key, *settings.pipelet_secret_key_previous.split(",")]
    keys = [k.strip() for k in keys if k.strip()]
    if not settings.pipelet_secret_key or not keys:
        raise TinKeyError(
            "PIPELET_SECRET_KEY: not set, so partners' TINs cannot be stored or read "
            "(run `pipelet run` once to generate it, or set it in the environment)"
        )
    return MultiFernet([_fernet(k) for k in keys])


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
