"""Password checks for sign-in on a small, bounded thread pool, never on the event loop.

An argon2 check costs tens of milliseconds of CPU. Run on the web process's event loop, a flood of sign-ins
stalls every page and API call; run on an unbounded pool, it takes every core. So checks run on
`LOGIN_HASH_WORKERS` threads (argon2 releases the GIL), at most `LOGIN_HASH_QUEUE` more may wait, and an
attempt beyond that is turned away at once (`Busy`) instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from pipelet_app.auth.secrets import verify_password
from pipelet_app.errors import TooBusy


class Busy(TooBusy):
    def __init__(self, retry_after_s: int = 2) -> None:
        super().__init__("Too many sign-in attempts right now; try again in a few seconds.", retry_after_s)


class PasswordPool:
    def __init__(self, workers: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="login-argon2")
        self._capacity = max(1, workers) + max(0, queue)
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        return self._pending

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the pool's places (running or waiting); Busy at once when none is left.

        Taken before anything else is done for an attempt (the user look-up too), so a flood costs the
        web process one counter check per refused attempt, not a database query."""
        with self._lock:
            if self._pending >= self._capacity:
                raise Busy()
            self._pending += 1
        try:
            yield
        finally:
            with self._lock:
                self._pending -= 1

    async def check(self, password_hash: str | None, password: str) -> bool:
        """`verify_password` on the pool's threads; call it inside `slot()`."""
        return await asyncio.wrap_future(self._executor.submit(verify_password, password_hash, password))

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """`check` in a slot of its own; raises Busy when the pool and its queue are full."""
        with self.slot():
            return await self.check(password_hash, password)


_pool: PasswordPool | None = None
_pool_lock = threading.Lock()


def password_pool() -> PasswordPool:
    global _pool
    with _pool_lock:
        if _pool is None:
            from pipelet_app.settings import get_settings

            settings = get_settings()
            _pool = PasswordPool(settings.login_hash_workers, settings.login_hash_queue)
        return _pool
