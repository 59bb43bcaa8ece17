"""The CSMS's frozen heap: frozen cycles stay until enough connections closed, then are reclaimed."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from pipelet_app.ocpp.heap import FrozenHeap


class Node:
    """A stand-in for a connection's objects: a reference cycle."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()  # leave the test process as it was


def close(heap: FrozenHeap, n: int) -> None:
    for _ in range(n):
        heap.connection_closed()


def test_collection_is_due_by_closed_connections_relative_to_the_peak_open() -> None:
    heap = FrozenHeap(min_closed=10, closed_fraction=0.25)
    close(heap, 9)
    heap.tick(open_connections=0)
    heap.tick(open_connections=0)
    assert heap.collections == 0  # 9 < 10
    close(heap, 1)
    assert heap.due(open_connections=0)  # 10 closed, the last interval was calm
    assert not heap.due(open_connections=100)  # 25 % of a peak of 100 = 25 > 10 closed
    assert not heap.due(open_connections=0)  # the peak is remembered
    close(heap, 15)
    heap.tick(open_connections=0)
    assert heap.collections == 0  # 25 closed, but 16 of them in the last interval: not calm
    heap.tick(open_connections=0)
    assert heap.collections == 1
    assert heap.closed_since_collect == 0


def test_a_storm_waits_for_calm_unless_eight_times_the_threshold_piled_up() -> None:
    heap = FrozenHeap(min_closed=10, closed_fraction=0.0)
    close(heap, 50)
    heap.tick(open_connections=0)  # 50 disconnects in the last interval: a storm
    assert not heap.due(open_connections=0)
    close(heap, 29)
    heap.tick(open_connections=0)
    assert not heap.due(open_connections=0)  # 79 < 8 x 10, still churning
    close(heap, 1)
    assert heap.due(open_connections=0)  # 80: collect even mid-storm
    heap.tick(open_connections=0)
    assert heap.collections == 1


def test_a_frozen_cycle_survives_until_the_collection_is_due_then_is_reclaimed() -> None:
    heap = FrozenHeap(min_closed=2, closed_fraction=0.0)
    node = Node()
    alive = weakref.ref(node)
    heap.tick(open_connections=1)  # freezes the node with everything else
    assert gc.get_freeze_count() > 0
    del node
    gc.collect()
    assert alive() is not None, "a frozen cycle is not walked by the collector"

    heap.connection_closed()
    heap.tick(open_connections=0)  # one closed: not due
    assert alive() is not None
    assert heap.collections == 0

    heap.connection_closed()
    heap.tick(open_connections=0)  # two closed, calm: thaw, collect, freeze again
    assert alive() is None
    assert heap.collections == 1
    assert heap.closed_since_collect == 0


def test_a_calm_hour_makes_a_collection_due_without_any_disconnects() -> None:
    now = [0.0]
    heap = FrozenHeap(min_closed=1000, max_interval_s=3600, clock=lambda: now[0])
    heap.tick(open_connections=20)
    now[0] = 3599.0
    heap.tick(open_connections=20)
    assert heap.collections == 0
    now[0] = 3600.0
    heap.tick(open_connections=20)
    assert heap.collections == 1
    now[0] = 3700.0
    heap.tick(open_connections=20)
    assert heap.collections == 1  # the hour starts again


def test_the_hourly_collection_waits_for_calm_too() -> None:
    now = [0.0]
    heap = FrozenHeap(min_closed=1000, max_interval_s=3600, clock=lambda: now[0])
    now[0] = 3600.0
    for _ in range(50):
        heap.connection_opened()
    heap.tick(open_connections=20)  # 50 connects in the last interval: not calm
    assert heap.collections == 0
    heap.tick(open_connections=20)
    assert heap.collections == 1
