"""Everything Pipelet derives from PIPELET_SECRET_KEY, derived one way, with no fallback.

Why one way: the installation key is any string an operator chose and it protects several things (stored
inverter credentials, partners' TINs, the CSMS's loopback command token, the demo chargers' passwords).
Each use gets an independent key from HKDF-SHA256 with a purpose label of its own, so a leak or rotation
of one never exposes or disturbs another, and nothing ever uses the raw key or a constant instead of it.

A missing key raises `MissingSecretKey` (a `BadInput`: one line naming the variable, never a traceback).
`pipelet run` (development and demo) writes one into `.env`; every other entry point calls
`require_secret_key()` first, so a production process without a key refuses to start instead of failing
at its first encryption or, worse, running with a guessable token.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pipelet_app.errors import BadInput
from pipelet_app.settings import get_settings

NOT_SET = (
    "PIPELET_SECRET_KEY: not set; set it in the environment (the same on every host) "
    "or run `pipelet run` once in development to generate one into .env"
)


class MissingSecretKey(BadInput):
    """PIPELET_SECRET_KEY is not set."""


def secret_keys() -> list[str]:
    """The current key, then the older ones of PIPELET_SECRET_KEY_PREVIOUS (comma-separated) that still
    decrypt during a rotation. Raises MissingSecretKey when the current key is not set."""
    settings = get_settings()
    current = settings.pipelet_secret_key.strip()
    if not current:
        raise MissingSecretKey(NOT_SET)
    previous = [k.strip() for k in settings.pipelet_secret_key_previous.split(",") if k.strip()]
    return [current, *previous]


def require_secret_key() -> None:
    """Start-up check of every production entry point (CSMS, worker, web app)."""
    secret_keys()


def derive(purpose: bytes, secret: str | None = None, length: int = 32) -> bytes:
    """`length` bytes for `purpose` (a label such as b"pipelet/partner-tin/v1") from `secret`, by default
    the current PIPELET_SECRET_KEY. The one derivation in Pipelet: HKDF-SHA256, no salt."""
    key = secret if secret is not None else secret_keys()[0]
    if not key:
        raise MissingSecretKey(NOT_SET)
    return _hkdf(purpose, key, length)


@lru_cache(maxsize=64)
def _hkdf(purpose: bytes, key: str, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose).derive(key.encode())


def fernet(purpose: bytes, keys: Sequence[str] | None = None) -> MultiFernet:
    """Authenticated encryption for `purpose`: encrypts under the first key, decrypts under any of them
    (default: `secret_keys()`), so rotation is moving the old key to PIPELET_SECRET_KEY_PREVIOUS."""
    chosen = list(keys) if keys is not None else secret_keys()
    if not chosen or not chosen[0]:
        raise MissingSecretKey(NOT_SET)
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derive(purpose, k))) for k in chosen])
