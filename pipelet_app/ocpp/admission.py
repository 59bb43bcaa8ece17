"""Who may open a socket: known charge point ids, and the Basic password of those that have one.

A reconnect storm brings thousands of upgrades within seconds. One database lookup per upgrade
queued them behind each other (and behind the chargers' Boot writes) until handshakes timed out, and
an argon2 verification costs ~50 ms of CPU. So the node keeps a directory of every charger's id and
password hash, reloaded wholesale every `REFRESH_S`, and remembers which credentials already passed
argon2 (as an HMAC under a per-process key, never the password). An id not in the directory is looked
up (and auto-registered) at once, so a charger added elsewhere is never refused for being new.

Consistency: a password set or a charger removed by another process applies within `REFRESH_S`; a
password changed through this node (ChangeConfiguration / SetVariables) applies at once (`forget`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time

from sqlmodel import select

from pipelet_app.auth.secrets import verify_password
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger
from pipelet_app.ocpp import chargers

LOGGER = logging.getLogger("pipelet.csms")
REFRESH_S = 30.0

Credentials = tuple[str, str] | None
Verdict = tuple[str, int | None]  # ("ok" | "unknown" | "unauthorized", charger id when ok)


class Admission:
    """Admission decisions for one CSMS node. `decide_fast` runs on the event loop; the rest on
    worker threads (they touch the database or run argon2)."""

    def __init__(self, auto_register: bool) -> None:
        self.auto_register = auto_register
        self._directory: dict[str, tuple[int, str | None]] = {}  # cp id -> (charger id, password hash)
        self._verified: dict[str, tuple[str, bytes]] = {}  # cp id -> (hash, digest of good credentials)
        self._key = os.urandom(32)
        self.loaded_at = 0.0

    def refresh(self) -> int:
        """Reload the directory from the database (worker thread); returns how many chargers it holds."""
        with session_scope() as db:
            rows = db.exec(select(Charger.charge_point_id, Charger.id, Charger.basic_auth_hash)).all()
        directory = {cp_id: (int(charger_id), password_hash) for cp_id, charger_id, password_hash in rows}
        self._directory = directory
        self.loaded_at = time.monotonic()
        # Verified credentials stay good only while the hash they were checked against is unchanged.
        self._verified = {
            cp_id: entry
            for cp_id, entry in self._verified.items()
            if directory.get(cp_id, (0, None))[1] == entry[0]
        }
        return len(directory)

    def due(self) -> bool:
        return time.monotonic() - self.loaded_at >= REFRESH_S

    def decide_fast(self, charge_point_id: str, credentials: Credentials) -> Verdict | None:
        """The verdict from memory, or None when it needs the database or argon2 (`decide`)."""
        entry = self._directory.get(charge_point_id)
        if entry is None:
            return None
        charger_id, password_hash = entry
        if password_hash is None:
            return "ok", charger_id
        verified = self._verified.get(charge_point_id)
        if (
            verified is not None
            and verified[0] == password_hash
            and hmac.compare_digest(verified[1], self._digest(credentials))
        ):
            return "ok", charger_id
        return None

    def decide(self, charge_point_id: str, credentials: Credentials) -> Verdict:
        """Look the charger up (registering it if allowed) and check its password (worker thread)."""
        with session_scope() as db:
            charger = chargers.find_charger(db, charge_point_id)
            if charger is None:
                if not self.auto_register:
                    return "unknown", None
                charger = chargers.register_charger(db, charge_point_id)
                LOGGER.info("%s: auto-registered (unclaimed)", charge_point_id)
            assert charger.id is not None
            self._directory[charge_point_id] = (charger.id, charger.basic_auth_hash)
            if charger.basic_auth_hash:
                user, password = credentials or ("", "")
                if user != charge_point_id or not verify_password(charger.basic_auth_hash, password):
                    chargers.record_security_event(
                        db,
                        charge_point_id,
                        "InvalidChargePointCredentials",
                        utcnow(),
                        charger_id=charger.id,
                        tech_info="missing Basic credentials" if credentials is None else f"user {user!r}",
                        source="csms",
                    )
                    return "unauthorized", None
                self._verified[charge_point_id] = (charger.basic_auth_hash, self._digest(credentials))
            return "ok", charger.id

    def forget(self, charge_point_id: str) -> None:
        """The charger's password may have changed: look it up again at its next upgrade."""
        self._directory.pop(charge_point_id, None)
        self._verified.pop(charge_point_id, None)

    def _digest(self, credentials: Credentials) -> bytes:
        user, password = credentials or ("", "")
        return hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()
