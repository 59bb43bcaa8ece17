"""A Redis outage does not turn every API call into an error: the limiter counts in process memory until
Redis answers again, and still refuses over the budget."""

from __future__ import annotations

import time

from pipelet_app.api.ratelimit import RedisLimiter


def test_an_unreachable_redis_still_limits_in_memory() -> None:
    limiter = RedisLimiter("redis://127.0.0.1:1/0")  # nothing listens on port 1
    started = time.monotonic()
    assert limiter.hit("key:a", 2) is None
    assert limiter.hit("key:a", 2) is None
    wait = limiter.hit("key:a", 2)
    assert wait is not None and 1 <= wait <= 60
    assert limiter.hit("key:b", 2) is None  # budgets stay per key
    assert limiter.count("key:a")[0] == 3
    limiter.clear("key:a")
    assert limiter.count("key:a")[0] == 0
    assert time.monotonic() - started < 10  # refused connections fail fast, nothing hangs
