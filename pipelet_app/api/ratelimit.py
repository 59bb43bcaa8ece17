"""Per-API-key request budget: a fixed one-minute window, answered with 429 and Retry-After.

Embedded deployment: counted in this process (one web worker). Scale-out: counted in Redis, so every
web worker shares one budget per key.
"""

from __future__ import annotations

import math
import threading
import time
from functools import lru_cache
from typing import Protocol

from pipelet_app.auth import AuthError
from pipelet_app.settings import get_settings

WINDOW_S = 60


class RateLimited(AuthError):
    status = 429

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"Rate limit exceeded; retry after {retry_after_s} s.")
        self.retry_after_s = retry_after_s


class Limiter(Protocol):
    def hit(self, key: str, limit: int) -> int | None:
        """Count one request; return seconds to wait when over `limit`, else None."""


class MemoryLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, limit: int) -> int | None:
        now = time.time()
        window = int(now // WINDOW_S)
        with self._lock:
            current, count = self._windows.get(key, (window, 0))
            if current != window:
                count = 0
            count += 1
            self._windows[key] = (window, count)
            if len(self._windows) > 100_000:  # forget old windows; keys are bounded by live API keys anyway
                self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        if count > limit:
            return max(1, math.ceil((window + 1) * WINDOW_S - now))
        return None


class RedisLimiter:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)

    def hit(self, key: str, limit: int) -> int | None:
        now = time.time()
        window = int(now // WINDOW_S)
        name = f"pipelet:ratelimit:{key}:{window}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, WINDOW_S * 2)
        count, _ = pipe.execute()
        if int(count) > limit:
            return max(1, math.ceil((window + 1) * WINDOW_S - now))
        return None


@lru_cache
def limiter_for(redis_url: str | None) -> Limiter:
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()


def check_rate(key_id: str) -> None:
    settings = get_settings()
    wait = limiter_for(settings.redis_url).hit(key_id, settings.api_rate_limit_per_minute)
    if wait is not None:
        raise RateLimited(wait)
