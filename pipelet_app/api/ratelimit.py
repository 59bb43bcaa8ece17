"""Per-API-key request budget: a fixed one-minute window, answered with 429 and Retry-After.

Embedded deployment: counted in this process (one web worker). Scale-out: counted in Redis, so every
web worker shares one budget per key. While Redis cannot be reached each worker counts in its own memory
(logged once a minute): the budget is then per worker rather than shared, which is still a budget, and
an outage of the cache does not turn into every API call and sign-in failing.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from functools import lru_cache
from typing import Protocol

from pipelet_app.errors import TooBusy
from pipelet_app.settings import get_settings

WINDOW_S = 60
log = logging.getLogger("pipelet.ratelimit")


def _now() -> float:
    """The wall clock the windows are cut from (one place, so a test can start a budget at a known
    point of its window: a burst that straddles a window's end starts afresh by design)."""
    return time.time()


class RateLimited(TooBusy):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"Rate limit exceeded; retry after {retry_after_s} s.", retry_after_s)


class Limiter(Protocol):
    def hit(self, key: str, limit: int, window_s: int = WINDOW_S) -> int | None:
        """Count one request; return seconds to wait when over `limit`, else None."""

    def count(self, key: str, window_s: int = WINDOW_S) -> tuple[int, int]:
        """(hits so far in the current window, seconds until it ends), without counting one."""

    def clear(self, key: str, window_s: int = WINDOW_S) -> None:
        """Forget the current window's hits (a successful sign-in clears its failures)."""


class MemoryLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, limit: int, window_s: int = WINDOW_S) -> int | None:
        now = _now()
        window = int(now // window_s)
        name = f"{key}:{window_s}"
        with self._lock:
            current, count = self._windows.get(name, (window, 0))
            if current != window:
                count = 0
            count += 1
            self._windows[name] = (window, count)
            if len(self._windows) > 100_000:  # forget old windows (sign-in keys come from anyone)
                self._windows = {k: v for k, v in self._windows.items() if v[0] >= window - 1}
        if count > limit:
            return max(1, math.ceil((window + 1) * window_s - now))
        return None

    def count(self, key: str, window_s: int = WINDOW_S) -> tuple[int, int]:
        now = _now()
        window = int(now // window_s)
        with self._lock:
            current, count = self._windows.get(f"{key}:{window_s}", (window, 0))
        return (count if current == window else 0), max(1, math.ceil((window + 1) * window_s - now))

    def clear(self, key: str, window_s: int = WINDOW_S) -> None:
        with self._lock:
            self._windows.pop(f"{key}:{window_s}", None)


class RedisLimiter:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._errors = redis.RedisError
        self._fallback = MemoryLimiter()
        self._warned_at = 0.0

    def _degraded(self, exc: Exception) -> MemoryLimiter:
        if time.monotonic() - self._warned_at > 60:
            self._warned_at = time.monotonic()
            log.warning("rate limits counted per process: Redis unreachable (%s)", type(exc).__name__)
        return self._fallback

    def _name(self, key: str, window_s: int, now: float) -> tuple[str, int]:
        window = int(now // window_s)
        suffix = "" if window_s == WINDOW_S else f":{window_s}"
        return f"pipelet:ratelimit:{key}{suffix}:{window}", window

    def hit(self, key: str, limit: int, window_s: int = WINDOW_S) -> int | None:
        now = _now()
        name, window = self._name(key, window_s, now)
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, window_s * 2)
        try:
            count, _ = pipe.execute()
        except self._errors as exc:
            return self._degraded(exc).hit(key, limit, window_s)
        if int(count) > limit:
            return max(1, math.ceil((window + 1) * window_s - now))
        return None

    def count(self, key: str, window_s: int = WINDOW_S) -> tuple[int, int]:
        now = _now()
        name, window = self._name(key, window_s, now)
        try:
            return int(self._redis.get(name) or 0), max(1, math.ceil((window + 1) * window_s - now))
        except self._errors as exc:
            return self._degraded(exc).count(key, window_s)

    def clear(self, key: str, window_s: int = WINDOW_S) -> None:
        try:
            self._redis.delete(self._name(key, window_s, _now())[0])
        except self._errors as exc:
            self._degraded(exc).clear(key, window_s)


@lru_cache
def limiter_for(redis_url: str | None) -> Limiter:
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()


def check_rate(key_id: str) -> None:
    settings = get_settings()
    wait = limiter_for(settings.redis_url).hit(key_id, settings.api_rate_limit_per_minute)
    if wait is not None:
        raise RateLimited(wait)
