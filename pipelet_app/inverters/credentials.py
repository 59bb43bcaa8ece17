"""Inverter-cloud credentials at rest: encrypted with a key derived from ``PIPELET_SECRET_KEY``.

Why Fernet through MultiFernet: authenticated encryption with a timestamp, and rotation for free. The current
key encrypts; every key in ``PIPELET_SECRET_KEY_PREVIOUS`` (comma-separated) still decrypts, so an operator
rotates by moving the old key there, setting a new one, and letting :func:`rotate_credentials` (or simply the
next save) re-encrypt rows over time.

Why derive instead of using the key directly: ``PIPELET_SECRET_KEY`` is any string an operator chose, and it
also signs other things; HKDF with a purpose label gives an independent 32-byte Fernet key per purpose.

Credentials are dicts (API key, tokens, passwords). They never go to logs: :func:`redact` masks them for
diagnostics output, and :func:`scrub` removes their values from free text.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PURPOSE = b"pipelet/inverter-credentials/v1"
MASK = "***"
# Keys whose values are secrets whatever the brand calls them.
_SECRET_KEY_PATTERN = re.compile(
    r"(pass|secret|token|api_?key|access_?key|key_?value|system_?code|appkey|code|cookie|session|sign)",
    re.IGNORECASE,
)


class CredentialKeyError(Exception):
    """Stored credentials cannot be decrypted with any configured key (key lost or rotated away)."""


def _configured_keys() -> list[str]:
    from pipelet_app.settings import get_settings

    settings = get_settings()
    current = settings.pipelet_secret_key
    previous = getattr(settings, "pipelet_secret_key_previous", None)
    if previous is None:
        previous = os.environ.get("PIPELET_SECRET_KEY_PREVIOUS", "")
    keys = [current, *(k.strip() for k in str(previous or "").split(","))]
    keys = [k for k in keys if k]
    if not keys or not current:
        raise CredentialKeyError(
            "PIPELET_SECRET_KEY is not set: credentials cannot be stored or read (run `pipelet run` once "
            "to generate one, or set it in the environment)"
        )
    return keys


@lru_cache(maxsize=16)
def _fernet_for(secret: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


def _multi(keys: Sequence[str] | None) -> MultiFernet:
    chosen = list(keys) if keys is not None else _configured_keys()
    if not chosen or not chosen[0]:
        raise CredentialKeyError("no secret key given to encrypt credentials")
    return MultiFernet([_fernet_for(k) for k in chosen])


def encrypt_credentials(credentials: Mapping[str, Any], *, keys: Sequence[str] | None = None) -> str:
    """Ciphertext (ASCII) for a credential dict, under the current key. ``keys``: current first, for tests."""
    plain = json.dumps(dict(credentials), sort_keys=True, separators=(",", ":")).encode()
    return _multi(keys).encrypt(plain).decode("ascii")


def decrypt_credentials(token: str, *, keys: Sequence[str] | None = None) -> dict[str, Any]:
    """The dict back, trying the current key then the previous ones. Raises CredentialKeyError."""
    try:
        plain = _multi(keys).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        raise CredentialKeyError(
            "stored inverter credentials cannot be decrypted with PIPELET_SECRET_KEY or "
            "PIPELET_SECRET_KEY_PREVIOUS; the driver must couple the inverter again"
        ) from None
    return json.loads(plain)


def rotate_credentials(token: str, *, keys: Sequence[str] | None = None) -> str:
    """Re-encrypt under the current key (a no-op in meaning when it already is). Raises CredentialKeyError."""
    try:
        return _multi(keys).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise CredentialKeyError("stored inverter credentials cannot be decrypted for rotation") from None


def is_secret_key(name: str, extra_secret_keys: Iterable[str] = ()) -> bool:
    return name in set(extra_secret_keys) or bool(_SECRET_KEY_PATTERN.search(name))


def redact(value: Any, extra_secret_keys: Iterable[str] = ()) -> Any:
    """A copy safe for diagnostics: values under secret-looking keys become ``***`` at any depth."""
    extra = frozenset(extra_secret_keys)
    if isinstance(value, Mapping):
        return {
            k: (MASK if is_secret_key(str(k), extra) and v not in (None, "") else redact(v, extra))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, extra) for v in value]
    return value


def scrub(text: str, credentials: Mapping[str, Any]) -> str:
    """``text`` with every string credential value (4+ characters) replaced by ``***``."""
    values = sorted(
        (str(v) for v in _leaves(credentials) if isinstance(v, str) and len(v) >= 4), key=len, reverse=True
    )
    for secret in values:
        text = text.replace(secret, MASK)
    return text


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, Mapping):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _leaves(v)
    else:
        yield value
