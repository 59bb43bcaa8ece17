"""Who may open a socket, decided at the upgrade (see docs/charger-identity.md for the rules).

A charger is admitted
- *authenticated*, with HTTP Basic (user = its charge point id) matching its password hash;
- *unauthenticated* only where nobody can be fooled by it: an operator chose auth mode "none" for
  it (the charger page warns), or it is an auto-registered charger nobody has claimed yet (it has no
  tenant, so it is trusted with no id token; `authorization`).
A charger in mode "basic" without a password (claimed, or created before passwords were required) is
refused until an operator rotates its password.

Cost: a reconnect storm brings thousands of upgrades within seconds, so the node keeps a directory of
every charger's id, password hash and mode, reloaded wholesale every `REFRESH_S`, and remembers which
credentials already passed argon2 (an HMAC under a per-process key, never the password). An id not in
the directory is looked up (and, when asked for, auto-registered) at once.

Guessing: an argon2 check costs ~50 ms of CPU, so checks run on their own small executor (never the
pool the message writer uses), at most `MAX_PENDING_CHECKS` wait for it, one per charge point id and
`MAX_CHECKS_PER_SOURCE` per source address at a time; failures back off per id and per source
(`auth_limits.Backoff`). Credentials that already passed on this node skip all of that, so a guesser
cannot keep a known charger out. Auto-registrations are limited per source and minute.

Consistency: every change (a password set or accepted by the charger, a claim, a mode, a removal)
reaches every node at once as an identity notice (`commands.notify_identity_changed`, the Redis
broadcast of `redis_bus`), which `forget`s the charger here; the wholesale reload every `REFRESH_S`
is the last resort for a notice that got lost (the server then closes sockets admitted on grounds
that no longer hold).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlmodel import select

from pipelet_app.auth.secrets import verify_password
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargerAuthMode
from pipelet_app.ocpp import chargers
from pipelet_app.ocpp.auth_limits import Backoff, Window

LOGGER = logging.getLogger("pipelet.csms")
REFRESH_S = 30.0
PASSWORD_CHECKERS = 1  # threads for argon2: one core's worth at most, the other stays with the chargers
MAX_PENDING_CHECKS = 16  # beyond this an upgrade is told to come back (503), not queued in memory
# Chargers of one site behind one router (or all of them behind a TCP load balancer) share an address.
MAX_CHECKS_PER_SOURCE = 8

Credentials = tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class Entry:
    """What admission needs to know about one charger."""

    charger_id: int
    password_hash: str | None
    auth_mode: str
    claimed: bool
    security_profile: int = 0  # the floor (`security_profile`)
    profile_target: int | None = None
    registration_status: str = "Accepted"  # the operator's answer to its next boot (ocpp/registration.py)

    @property
    def open_door(self) -> bool:
        """Admitted without credentials: the operator chose so, or it is unclaimed and has no password."""
        if self.auth_mode == ChargerAuthMode.NONE:
            return True
        return not self.claimed and self.password_hash is None


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str  # ok | unknown | unauthorized | throttled (429) | busy (503)
    charger_id: int | None = None
    authenticated: bool = False
    password_hash: str | None = None  # the hash an authenticated socket was admitted against
    retry_after_s: float = 0.0
    reason: str = ""


class Admission:
    """Admission decisions for one CSMS node. `admit` and `decide_fast` run on the event loop;
    `refresh`, `lookup` and `register` on worker threads (they touch the database)."""

    def __init__(self, auto_register: bool, register_per_minute: int = 60) -> None:
        self.auto_register = auto_register
        self._directory: dict[str, Entry] = {}
        self._verified: dict[str, tuple[str, bytes]] = {}  # cp id -> (hash, digest of good credentials)
        self._key = os.urandom(32)
        self.loaded_at = 0.0
        self.registrations = Window(register_per_minute)
        self.failures_by_id = Backoff(free=5, cap_s=60.0)
        self.failures_by_source = Backoff(free=20, cap_s=300.0)
        self._checker: ThreadPoolExecutor | None = None
        self._pending = 0
        self._checking_ids: set[str] = set()
        self._checking_sources: Counter[str] = Counter()

    # ------------------------------------------------------------------ directory (worker threads)
    def refresh(self) -> int:
        """Reload the directory from the database; returns how many chargers it holds."""
        with session_scope() as db:
            rows = db.exec(
                select(
                    Charger.charge_point_id,
                    Charger.id,
                    Charger.basic_auth_hash,
                    Charger.auth_mode,
                    Charger.tenant_id,
                    Charger.security_profile,
                    Charger.security_profile_target,
                    Charger.registration_status,
                )
            ).all()
        directory = {
            cp_id: Entry(
                int(charger_id), password_hash, str(mode), tenant_id is not None, floor or 0, target, chosen
            )
            for cp_id, charger_id, password_hash, mode, tenant_id, floor, target, chosen in rows
        }
        self._directory = directory
        self.loaded_at = time.monotonic()
        # Verified credentials stay good only while the hash they were checked against is unchanged.
        self._verified = {
            cp_id: entry
            for cp_id, entry in self._verified.items()
            if cp_id in directory and directory[cp_id].password_hash == entry[0]
        }
        return len(directory)

    def due(self) -> bool:
        return time.monotonic() - self.loaded_at >= REFRESH_S

    def lookup(self, charge_point_id: str) -> Entry | None:
        with session_scope() as db:
            charger = chargers.find_charger(db, charge_point_id)
            if charger is None:
                return None
            entry = _entry_of(charger)
        self._directory[charge_point_id] = entry
        return entry

    def register(self, charge_point_id: str) -> Entry:
        with session_scope() as db:
            charger = chargers.register_charger(db, charge_point_id)
            entry = _entry_of(charger)
        LOGGER.info("%s: auto-registered (unclaimed)", charge_point_id)
        self._directory[charge_point_id] = entry
        return entry

    def entry(self, charge_point_id: str) -> Entry | None:
        return self._directory.get(charge_point_id)

    def forget(self, charge_point_id: str) -> None:
        """The charger's password may have changed: look it up again at its next upgrade."""
        self._directory.pop(charge_point_id, None)
        self._verified.pop(charge_point_id, None)

    # ------------------------------------------------------------------ decisions (event loop)
    def decide_fast(self, charge_point_id: str, credentials: Credentials) -> Verdict | None:
        """The verdict from memory, or None when it needs the database or a password check."""
        entry = self._directory.get(charge_point_id)
        if entry is None:
            return None
        return self._from_entry(charge_point_id, entry, credentials)

    def _from_entry(self, charge_point_id: str, entry: Entry, credentials: Credentials) -> Verdict | None:
        if entry.open_door:
            return Verdict("ok", entry.charger_id)
        if entry.password_hash is None:
            return Verdict("unauthorized", reason="no password set: an operator must create one")
        verified = self._verified.get(charge_point_id)
        if (
            verified is not None
            and verified[0] == entry.password_hash
            and hmac.compare_digest(verified[1], self._digest(credentials))
        ):
            return Verdict("ok", entry.charger_id, authenticated=True, password_hash=entry.password_hash)
        return None

    async def admit(self, charge_point_id: str, credentials: Credentials, source: str) -> Verdict:
        """The whole decision for one upgrade from `source` (the peer's address).

        Admissions come from the directory; a refusal is confirmed against the database first, so a
        claim, a new password or an auth mode set by the web app applies at once rather than within a
        refresh. Refusals count towards the failure limits, which are checked before any work."""
        entry = self._directory.get(charge_point_id)
        fresh = entry is None
        if entry is None:
            entry = await asyncio.to_thread(self.lookup, charge_point_id)
            if entry is None:
                return await self._unknown(charge_point_id, source)
        verdict = self._from_entry(charge_point_id, entry, credentials)
        if verdict is not None and verdict.kind == "ok":
            return verdict
        now = time.monotonic()
        wait = max(
            self.failures_by_id.wait_s(charge_point_id, now), self.failures_by_source.wait_s(source, now)
        )
        if wait > 0:
            return Verdict("throttled", retry_after_s=wait, reason="too many failed attempts")
        if verdict is None:
            verdict = await self._check_password(charge_point_id, entry, credentials, source)
        if verdict.kind == "unauthorized" and not fresh:
            newer = await asyncio.to_thread(self.lookup, charge_point_id)
            if newer is None:
                return Verdict("unknown")
            if newer != entry:
                entry = newer
                verdict = self._from_entry(charge_point_id, entry, credentials) or await self._check_password(
                    charge_point_id, entry, credentials, source
                )
        if verdict.kind == "unauthorized":
            await self._refused(charge_point_id, entry, credentials, source)
        return verdict

    async def admit_certificate(self, charge_point_id: str) -> Verdict:
        """A socket whose verified client certificate names this charge point (security profile 3):
        authenticated without a password; only a charger the CSMS knows (no auto-registration)."""
        entry = self._directory.get(charge_point_id) or await asyncio.to_thread(self.lookup, charge_point_id)
        if entry is None:
            return Verdict("unknown")
        self.failures_by_id.succeeded(charge_point_id)
        return Verdict("ok", entry.charger_id, authenticated=True, password_hash=entry.password_hash)

    async def _unknown(self, charge_point_id: str, source: str) -> Verdict:
        if not self.auto_register:
            return Verdict("unknown")
        wait = self.registrations.retry_after_s(source, time.monotonic())
        if wait > 0:
            return Verdict("throttled", retry_after_s=wait, reason="too many new ids from this source")
        self.registrations.add(source, time.monotonic())
        entry = await asyncio.to_thread(self.register, charge_point_id)
        return self._from_entry(charge_point_id, entry, None) or Verdict("unauthorized")

    async def _check_password(
        self, charge_point_id: str, entry: Entry, credentials: Credentials, source: str
    ) -> Verdict:
        """argon2 on the small executor, within the in-flight bounds (busy beyond them)."""
        if (
            self._pending >= MAX_PENDING_CHECKS
            or charge_point_id in self._checking_ids
            or self._checking_sources[source] >= MAX_CHECKS_PER_SOURCE
        ):
            return Verdict("busy", retry_after_s=5.0, reason="password checks busy")
        assert entry.password_hash is not None
        self._pending += 1
        self._checking_ids.add(charge_point_id)
        self._checking_sources[source] += 1
        try:
            user, password = credentials or ("", "")
            good = credentials is not None and hmac.compare_digest(user, charge_point_id)
            if good:
                loop = asyncio.get_running_loop()
                good = await loop.run_in_executor(
                    self._executor(), verify_password, entry.password_hash, password
                )
        finally:
            self._pending -= 1
            self._checking_ids.discard(charge_point_id)
            self._checking_sources[source] -= 1
            if self._checking_sources[source] <= 0:
                del self._checking_sources[source]
        if not good:
            return Verdict("unauthorized", reason="bad or missing Basic credentials")
        self.failures_by_id.succeeded(charge_point_id)
        self._verified[charge_point_id] = (entry.password_hash, self._digest(credentials))
        return Verdict("ok", entry.charger_id, authenticated=True, password_hash=entry.password_hash)

    async def _refused(
        self, charge_point_id: str, entry: Entry, credentials: Credentials, source: str
    ) -> None:
        """Count the failure (back-off per id and per source) and record it for the operator."""
        now = time.monotonic()
        self.failures_by_id.failed(charge_point_id, now)
        self.failures_by_source.failed(source, now)
        info = "missing Basic credentials" if credentials is None else f"user {credentials[0][:64]!r}"
        if entry.password_hash is None:
            info += " (no password set)"
        try:
            await asyncio.to_thread(
                _record_failure, charge_point_id, entry.charger_id, f"{info} from {source}"
            )
        except Exception:  # the refusal stands whether or not it could be recorded
            LOGGER.exception("%s: could not record the failed login", charge_point_id)

    def still_admits(self, charge_point_id: str, authenticated: bool, password_hash: str | None) -> bool:
        """Would a socket admitted on these grounds be admitted now? (after a refresh)"""
        entry = self._directory.get(charge_point_id)
        if entry is None:
            return False
        if entry.open_door:
            return True
        return authenticated and entry.password_hash == password_hash

    def _executor(self) -> ThreadPoolExecutor:
        if self._checker is None:
            self._checker = ThreadPoolExecutor(PASSWORD_CHECKERS, thread_name_prefix="ocpp-password")
        return self._checker

    def close(self) -> None:
        if self._checker is not None:
            self._checker.shutdown(wait=False, cancel_futures=True)
            self._checker = None

    def _digest(self, credentials: Credentials) -> bytes:
        user, password = credentials or ("", "")
        return hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()


def _entry_of(charger: Charger) -> Entry:
    assert charger.id is not None
    return Entry(
        charger.id,
        charger.basic_auth_hash,
        str(charger.auth_mode),
        charger.tenant_id is not None,
        charger.security_profile or 0,
        charger.security_profile_target,
        charger.registration_status,
    )


def _record_failure(charge_point_id: str, charger_id: int, tech_info: str) -> None:
    with session_scope() as db:
        chargers.record_security_event(
            db,
            charge_point_id,
            "InvalidChargePointCredentials",
            utcnow(),
            charger_id=charger_id,
            tech_info=tech_info,
            source="csms",
        )
