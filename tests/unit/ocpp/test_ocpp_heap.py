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


def test_collection_is_due_by_closed_connections_relative_to_open_ones() -> None:
    heap = FrozenHeap(min_closed=10, closed_fraction=0.25)
    close(heap, 9)
    heap.tick(open_connections=0)
    assert not heap.due(open_connections=0)
    close(heap, 1)
    heap.tick(open_connections=0)  # still churning at this tick: waits
    assert heap.due(open_connections=0)  # calm since the last tick
    assert not heap.due(open_connections=100)  # 25 % of 100 = 25 > 10 closed
    close(heap, 15)
    assert not heap.due(open_connections=100)  # enough, but still closing
    heap.tick(open_connections=100)
    assert heap.due(open_connections=100)


def test_a_storm_waits_for_calm_unless_four_times_the_threshold_piled_up() -> None:
    heap = FrozenHeap(min_closed=10, closed_fraction=0.0)
    close(heap, 39)
    assert not heap.due(open_connections=0)
    close(heap, 1)
    assert heap.due(open_connections=0)


def test_a_frozen_cycle_survives_until_the_collection_is_due_then_is_reclaimed() -> None:
    heap = FrozenHeap(min_closed=2, closed_fraction=0.0)
    node = Node()
    alive = weakref.ref(node)
    heap.tick(open_connections=1)  # freezes the node with everything else
    assert gc.get_freeze_count() > 0
    del node
    gc.collect()
    assert alive() is not None, "a frozen cycle is not walked by the collector"

    close(heap, 2)
    heap.tick(open_connections=0)  # enough closed, but they are still closing: not yet
    assert alive() is not None
    assert heap.collections == 0

    heap.tick(open_connections=0)  # calm: thaw, collect, freeze again
    assert alive() is None
    assert heap.collections == 1
    assert heap.closed_since_collect == 0
