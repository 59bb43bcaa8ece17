"""Limits on what an anonymous client can make the CSMS do at the upgrade.

- `Backoff`: failed password checks per key (a charge point id, a source address). The first `free`
  failures cost nothing; after that the key must wait 1, 2, 4 ... up to `cap_s` seconds after its last
  failure before another password is even checked. A success, or `forget_s` of quiet, clears the key.
  The cap keeps a guesser from locking a real charger out for long, and a charger whose credentials
  already passed on this node skips the check (and so the back-off) altogether (see `admission`).
- `Window`: at most `limit` events per key and minute (auto-registrations per source address).

Both run on the event loop only (no locks) and take the clock as an argument, so tests need no sleep.
Memory is bounded: keys are dropped when quiet, and when there are more than `max_keys` the oldest go.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class Backoff:
    def __init__(self, free: int, cap_s: float, forget_s: float = 900.0, max_keys: int = 100_000) -> None:
        self.free = free
        self.cap_s = cap_s
        self.forget_s = forget_s
        self.max_keys = max_keys
        self._keys: OrderedDict[str, _Failures] = OrderedDict()

    def wait_s(self, key: str, now: float) -> float:
        """Seconds `key` must still wait before its next password check (0 = go ahead)."""
        entry = self._keys.get(key)
        if entry is None:
            return 0.0
        if now - entry.last >= self.forget_s:
            del self._keys[key]
            return 0.0
        if entry.count < self.free:
            return 0.0
        delay = min(self.cap_s, 2.0 ** (entry.count - self.free))
        return max(0.0, entry.last + delay - now)

    def failed(self, key: str, now: float) -> None:
        entry = self._keys.pop(key, None)
        if entry is None or now - entry.last >= self.forget_s:
            entry = _Failures(0, now)
        entry.count += 1
        entry.last = now
        self._keys[key] = entry  # most recent last
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self._keys.pop(key, None)

    def failures(self, key: str) -> int:
        entry = self._keys.get(key)
        return entry.count if entry else 0


class Window:
    """At most `limit` events per key in any 60 s; limit 0 = unlimited."""

    def __init__(self, limit: int, span_s: float = 60.0, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.span_s = span_s
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after_s(self, key: str, now: float) -> float:
        """0 when one more event is allowed now, else the seconds until it is."""
        if self.limit <= 0:
            return 0.0
        events = self._events.get(key)
        if events is None:
            return 0.0
        while events and now - events[0] >= self.span_s:
            events.popleft()
        if not events:
            del self._events[key]
            return 0.0
        if len(events) < self.limit:
            return 0.0
        return events[0] + self.span_s - now

    def add(self, key: str, now: float) -> None:
        if self.limit <= 0:
            return
        events = self._events.pop(key, None) or deque()
        events.append(now)
        self._events[key] = events
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)
