"""Opaque, tamper-evident cursors for keyset pagination.

A cursor is the sort key of the last row served, signed with PIPELET_SECRET_KEY: a client cannot forge a
position into rows it may not see, and a damaged cursor is a clear 400 instead of a wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime

from pipelet_app.auth import InvalidInput
from pipelet_app.settings import get_settings


def _sign(payload: bytes) -> bytes:
    key = hashlib.sha256(b"cursor:" + get_settings().pipelet_secret_key.encode()).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:16]


def encode_cursor(start_utc: datetime, row_id: int) -> str:
    payload = json.dumps([start_utc.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(_sign(payload) + payload).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        signature, payload = raw[:16], raw[16:]
        if not hmac.compare_digest(signature, _sign(payload)):
            raise ValueError("signature")
        start, row_id = json.loads(payload)
        return datetime.fromisoformat(start), int(row_id)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            "cursor: not a cursor this API issued (copy it unchanged from next_cursor)"
        ) from exc
