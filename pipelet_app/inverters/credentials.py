"""Inverter-cloud credentials at rest: encrypted with a key derived from ``PIPELET_SECRET_KEY``.

Why Fernet through MultiFernet: authenticated encryption with a timestamp, and rotation for free. The current
key encrypts; every key in ``PIPELET_SECRET_KEY_PREVIOUS`` (comma-separated) still decrypts, so an operator
rotates by moving the old key there, setting a new one, and letting :func:`rotate_credentials` (or simply the
next save) re-encrypt rows over time.

The key itself comes from ``pipelet_app.keys`` (HKDF with this module's purpose label), the one place that
derives anything from ``PIPELET_SECRET_KEY``.

Credentials are dicts (API key, tokens, passwords). They never go to logs: :func:`redact` masks them for
diagnostics output, and :func:`scrub` removes their values from free text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet

from pipelet_app.keys import MissingSecretKey, fernet

_PURPOSE = b"pipelet/inverter-credentials/v1"
MASK = "***"
# Keys whose values are secrets whatever the brand calls them.
_SECRET_KEY_PATTERN = re.compile(
    r"(pass|secret|token|api_?key|access_?key|key_?value|system_?code|appkey|code|cookie|session|sign)",
    re.IGNORECASE,
)


class CredentialKeyError(Exception):
    """Stored credentials cannot be decrypted with any configured key (key lost or rotated away)."""


def _multi(keys: Sequence[str] | None) -> MultiFernet:
    try:
        return fernet(_PURPOSE, keys)
    except MissingSecretKey as exc:
        raise CredentialKeyError(f"{exc}; inverter credentials cannot be stored or read") from None


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
