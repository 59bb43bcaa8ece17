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
connections are still closing (a reconnect storm) the collection waits for the churn to settle,
unless four times the threshold has piled up: the pause would otherwise land in the middle of it.
"""

from __future__ import annotations

import gc
import logging
import time

LOGGER = logging.getLogger("pipelet.csms.heap")


class FrozenHeap:
    """Freeze on every `tick()`; collect the frozen heap when `closed` connections warrant it.

    `min_closed` and `closed_fraction`: a full collection runs once at least
    max(min_closed, closed_fraction x open connections) frozen connections have closed.
    """

    def __init__(self, min_closed: int = 1000, closed_fraction: float = 0.25) -> None:
        self.min_closed = min_closed
        self.closed_fraction = closed_fraction
        self.closed_since_collect = 0
        self._closed_at_last_tick = 0
        self.last_pause_s = 0.0
        self.collections = 0

    def connection_closed(self) -> None:
        self.closed_since_collect += 1

    def due(self, open_connections: int) -> bool:
        threshold = max(self.min_closed, int(self.closed_fraction * open_connections))
        if self.closed_since_collect < threshold:
            return False
        churning = self.closed_since_collect > self._closed_at_last_tick
        return not churning or self.closed_since_collect >= 4 * threshold

    def tick(self, open_connections: int) -> None:
        """Called from the CSMS housekeeping loop: collect if due, then freeze what survived."""
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
        self._closed_at_last_tick = self.closed_since_collect
        gc.freeze()
