"""Live pages: one poller per web process, and each open page's follower waiting on it.

Why this shape: the CSMS is another process (another host in scale-out) and writes everything to the
database before it answers the charger, so the database is the one place every change is visible. A
single poller per web process reads cheap fingerprints (`live_versions`) of the keys open pages follow,
once per `POLL_S`, and wakes only the followers whose key moved; they reload their view through their
own guarded loader (role and tenant checked again) and Reflex pushes the difference over the page's
socket. N open tabs cost one grouped query per tick, not N.

A follower ends when its tab's socket is gone, when the same tab starts following another page (one
follower per tab), or when the page it belongs to is left (`unfollow`, from the page's unmount).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable

from pipelet_app.runtime import offload
from pipelet_app.services.live_versions import Key, read_versions

LOGGER = logging.getLogger(__name__)
POLL_S = 1.0  # the page shows a change within about this plus one reload of its view
CHECK_S = 10.0  # how often an idle follower checks that its tab is still there
MAX_FOLLOW_S = 12 * 3600.0  # a backstop for a socket the framework never reports gone


class Hub:
    """The fingerprints of followed keys, refreshed by one task while anyone follows anything."""

    def __init__(self, read: Callable[[list[Key]], dict[Key, str]] = read_versions) -> None:
        self._read = read
        self.watching: Counter[Key] = Counter()
        self.versions: dict[Key, str] = {}
        self.ticks = 0
        self._cond: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._owner: dict[str, tuple[int, str]] = {}  # tab token -> (generation, state that follows)
        self._generation = 0

    def _condition(self) -> asyncio.Condition:
        loop = asyncio.get_running_loop()
        if self._cond is None or self._loop is not loop:
            self._cond, self._loop, self._task = asyncio.Condition(), loop, None
        return self._cond

    def claim(self, token: str, owner: str) -> int:
        """This tab now follows `owner`'s page; any earlier follower of the tab ends at its next wake."""
        self._generation += 1
        self._owner[token] = (self._generation, owner)
        return self._generation

    def release(self, token: str, owner: str) -> None:
        """The tab left `owner`'s page: end its follower (not one another page of the tab started)."""
        if self._owner.get(token, (0, ""))[1] == owner:
            self._owner.pop(token, None)

    def current(self, token: str, generation: int) -> bool:
        return self._owner.get(token, (0, ""))[0] == generation

    def _ensure_polling(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        cond = self._condition()
        while +self.watching:
            keys = sorted(k for k, n in self.watching.items() if n > 0)
            try:
                fresh = await offload.blocking(self._read, keys)
            except Exception:  # a database hiccup must not end live pages; try again next tick
                LOGGER.warning("live: reading versions failed", exc_info=True)
                fresh = {}
            async with cond:
                self.versions.update(fresh)
                self.ticks += 1
                cond.notify_all()
            await asyncio.sleep(POLL_S)

    async def changes(
        self, key: Key, token: str, generation: int, seen: str | None = None
    ) -> AsyncIterator[None]:
        """Yield whenever the key's fingerprint differs from `seen` (what the page shows: the fingerprint
        its loader read right before its view; None: unknown, so the first reading counts as a change);
        stop when the follower is superseded or its tab is gone."""
        cond = self._condition()
        self.watching[key] += 1
        self._ensure_polling()
        started = asyncio.get_running_loop().time()
        try:
            while self.current(token, generation):
                if asyncio.get_running_loop().time() - started > MAX_FOLLOW_S or not await connected(token):
                    return
                async with cond:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            cond.wait_for(
                                lambda last=seen: key in self.versions and self.versions[key] != last
                            ),
                            CHECK_S,
                        )
                    now = self.versions.get(key)
                if now is None or now == seen or not self.current(token, generation):
                    continue
                seen = now
                yield
        finally:
            self.watching[key] -= 1
            if self.watching[key] <= 0:
                del self.watching[key]
                self.versions.pop(key, None)


async def connected(token: str) -> bool:
    """Whether the tab's socket is still connected to any web worker (True when it cannot be told)."""
    try:
        from reflex_base.registry import RegistrationContext

        namespace = RegistrationContext.get().app.event_namespace
        if namespace is None:
            return True
        return bool(await namespace._token_manager.is_token_connected(token))
    except Exception:  # another Reflex version: rely on supersession and MAX_FOLLOW_S
        return True


HUB = Hub()
