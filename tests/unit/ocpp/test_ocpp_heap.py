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


def test_collection_is_due_by_closed_connections_relative_to_open_ones() -> None:
    heap = FrozenHeap(min_closed=10, closed_fraction=0.25)
    for _ in range(9):
        heap.connection_closed()
    assert not heap.due(open_connections=0)
    heap.connection_closed()
    assert heap.due(open_connections=0)
    assert not heap.due(open_connections=100)  # 25 % of 100 = 25 > 10 closed
    for _ in range(15):
        heap.connection_closed()
    assert heap.due(open_connections=100)


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
    heap.tick(open_connections=0)  # one closed connection: not due
    assert alive() is not None
    assert heap.collections == 0

    heap.connection_closed()
    heap.tick(open_connections=0)  # due: thaw, collect, freeze again
    assert alive() is None
    assert heap.collections == 1
    assert heap.closed_since_collect == 0
