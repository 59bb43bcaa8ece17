"""Keeps CPython's cyclic garbage collector off the thousands of long-lived charger connections.

A full (generation 2) collection walks every tracked object. With 10,000 sockets open that is millions
of objects and a stop-the-world pause of 0.3-1.3 s, which every charger sees as latency: in
benchmarks/csms it alone set the p99 of 10,000 chargers x one message per 30 s at 900 ms. The
connections themselves are not garbage and need no walking, so they are moved to the permanent
generation (`gc.freeze()`) every few seconds; the collector then only walks what is new since.

The price: a connection's objects form reference cycles (websockets' connection, protocol and
transport point at each other; the `ocpp` ChargePoint's route map holds bound methods of itself), so
a frozen connection that closes is not reclaimed until the permanent generation is collected. That
happens once enough connections have closed since the last time, counted against how many are open,
so the leak stays bounded and the one full pause is paid in proportion to churn, not to time. While
chargers are still connecting or disconnecting in numbers (a reconnect storm) the collection waits
for calm, unless eight times the threshold has piled up: the pause would otherwise land in the storm.
A small installation may not see a thousand disconnects in months, while the little cyclic garbage
its messages leave would pile up frozen: so a calm hour since the last collection also makes it due
(with few connections the pause is short; with 10,000 it is one 0.5-1 s pause an hour, 0.03 % of
an hour's messages at one per 30 s each, below the p99).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

LOGGER = logging.getLogger("pipelet.csms.heap")


class FrozenHeap:
    """Freeze on every `tick()`; collect the frozen heap when closed connections warrant it.

    Due once at least max(min_closed, closed_fraction x the most connections open since the last
    collection) have closed, and the last tick interval was calm (few connects and disconnects).
    """

    def __init__(
        self,
        min_closed: int = 1000,
        closed_fraction: float = 0.25,
        max_interval_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_closed = min_closed
        self.closed_fraction = closed_fraction
        self.max_interval_s = max_interval_s
        self._clock = clock
        self._collected_at = clock()
        self.closed_since_collect = 0
        self.peak_open = 0
        self._churn = 0  # connects + disconnects since the last tick
        self._last_churn = 0  # ... in the interval before the last tick
        self.last_pause_s = 0.0
        self.collections = 0

    def connection_opened(self) -> None:
        self._churn += 1

    def connection_closed(self) -> None:
        self.closed_since_collect += 1
        self._churn += 1

    def due(self, open_connections: int) -> bool:
        self.peak_open = max(self.peak_open, open_connections)
        threshold = max(self.min_closed, int(self.closed_fraction * self.peak_open))
        calm = self._last_churn <= max(10, open_connections // 200)
        if self.closed_since_collect < threshold:
            return calm and self._clock() - self._collected_at >= self.max_interval_s
        return calm or self.closed_since_collect >= 8 * threshold

    def tick(self, open_connections: int) -> None:
        """Called from the CSMS housekeeping loop: collect if due, then freeze what survived."""
        self._last_churn, self._churn = self._churn, 0
        if self.due(open_connections):
            started = time.perf_counter()
            gc.unfreeze()
            found = gc.collect()
            self.last_pause_s = time.perf_counter() - started
            self.collections += 1
            LOGGER.info(
                "full collection after %d closed connections: %d unreachable objects, %.0f ms",
                self.closed_since_collect,
                found,
                self.last_pause_s * 1000,
            )
            self.closed_since_collect = 0
            self.peak_open = open_connections
            self._collected_at = self._clock()
        gc.freeze()
