"""Where a vendor account's logins are counted, so a login limit holds across restarts and workers.

Huawei FusionSolar locks an account after more than 5 logins in 10 minutes. Counting them in one process's
memory (as the adapter did) is not enough: a restarted worker starts from zero and a second worker
(scale-out) counts its own five. So the count is stored like the other quota ledgers, in the database
(``c4_vendor_login_ledgers``, the same pruned ``{kind: [unix seconds]}`` ledger of ``domain.quota``): on the
embedded default SQLite, on a scale-out the PostgreSQL every worker shares. Unlike the rows' ``ledger``
columns, which the poll job writes back after its poll under the row's lease, a login is spent *before*
it is sent, as one compare-and-set, because the account is shared by rows (several drivers, site links,
the connect form's test call) that no single lease covers.

The key is a hash of the vendor's address and user name: the ledger holds no credential (no password,
system code or token), only the times of the logins.

``MemoryLoginLedger`` is the process-local stand-in for tests without a migrated database (unit tests).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import col

from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import VendorLoginLedger
from pipelet_app.domain import quota as q

#: compare-and-set rounds before giving up (each lost round means another worker just spent a login)
ATTEMPTS = 20


class LoginLedger(Protocol):
    def reserve(self, key: str, brand: str, quota: q.BrandQuota, now: datetime) -> float | None:
        """Spend one login at ``now`` if ``quota`` allows it: None when spent (go ahead and log in), else
        the seconds until one is allowed (nothing spent)."""

    def spends(self, key: str) -> list[float]:
        """The logins counted for ``key`` (unix seconds), for tests and diagnostics."""


def account_key(brand: str, base_url: str, user: str) -> str:
    """The ledger's key of a vendor account: a hash, so the table names no user."""
    return hashlib.sha256(f"{brand}\n{base_url.rstrip('/')}\n{user}".encode()).hexdigest()


def _decide(
    ledger: Mapping[str, list[float]], quota: q.BrandQuota, now: datetime
) -> tuple[q.Ledger, float | None]:
    """The ledger after one more login, or the wait when the quota has none left."""
    current = q.prune(ledger, quota, now)
    if not q.can_spend(current, quota, now, q.LOGIN):
        return current, max(0.0, (q.next_allowed(current, quota, now, {q.LOGIN: 1}) - now).total_seconds())
    return q.spend(current, quota, now, q.LOGIN), None


class DbLoginLedger:
    """The login ledger in the database, shared by every process that reaches it."""

    def reserve(self, key: str, brand: str, quota: q.BrandQuota, now: datetime) -> float | None:
        for attempt in range(ATTEMPTS):
            try:
                answer = self._try(key, brand, quota, now)
            except OperationalError as error:  # SQLite: another process holds the write lock past the
                if "locked" not in str(error):  # busy timeout; anything else is a real fault
                    raise
                answer = None, False
            spent_or_wait, done = answer
            if done:
                return spent_or_wait
            time.sleep(0.01 * (attempt + 1))
        raise RuntimeError(f"login ledger: {ATTEMPTS} concurrent spends in a row lost the race")

    def _try(self, key: str, brand: str, quota: q.BrandQuota, now: datetime) -> tuple[float | None, bool]:
        """One compare-and-set round: (None, True) spent, (wait, True) none left, (None, False) lost the
        race to another worker (read again)."""
        with session_scope() as db:
            row = db.get(VendorLoginLedger, key)
            ledger, wait = _decide(row.ledger if row is not None else {}, quota, now)
            if wait is not None:
                return wait, True
            if row is None:
                db.add(VendorLoginLedger(account_key=key, brand=brand, ledger=ledger, version=1))
                try:
                    db.flush()
                except IntegrityError:  # another worker wrote the first login meanwhile
                    db.rollback()
                    return None, False
                return None, True
            written = db.exec(
                update(VendorLoginLedger)  # type: ignore[call-overload]
                .where(
                    col(VendorLoginLedger.account_key) == key,
                    col(VendorLoginLedger.version) == row.version,
                )
                .values(ledger=ledger, version=row.version + 1, updated_at=utcnow())
            )
            return None, written.rowcount == 1

    def spends(self, key: str) -> list[float]:
        with session_scope() as db:
            row = db.get(VendorLoginLedger, key)
            return list((row.ledger if row is not None else {}).get(q.LOGIN, []))


class MemoryLoginLedger:
    """This process only (tests without a database): what the adapter used to keep."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ledgers: dict[str, q.Ledger] = {}

    def reserve(self, key: str, brand: str, quota: q.BrandQuota, now: datetime) -> float | None:
        with self._lock:
            ledger, wait = _decide(self._ledgers.get(key, {}), quota, now)
            self._ledgers[key] = ledger
            return wait

    def spends(self, key: str) -> list[float]:
        with self._lock:
            return list(self._ledgers.get(key, {}).get(q.LOGIN, []))


_DATABASE = DbLoginLedger()
_installed: LoginLedger | None = None


def current() -> LoginLedger:
    """The ledger logins are counted in: the database unless a test installed another."""
    return _installed or _DATABASE


def install(ledger: LoginLedger | None) -> LoginLedger | None:
    """Count logins in ``ledger`` from now on (None: the database again); answers the one before."""
    global _installed
    previous, _installed = _installed, ledger
    return previous
