"""Sharing (who runs, how much) and the caps, on their own."""

from __future__ import annotations

from pipelet_app.domain.surplus import Circuit
from pipelet_app.domain.surplus.limits import Load, enforce
from pipelet_app.domain.surplus.share import Slot, distribute, pick


def slot(cid: str, rank: int, on: bool = False, floor: float = 0.0) -> Slot:
    return Slot(cid, 1380.0, 3680.0, floor, on, (rank,))


def test_pick_takes_as_many_as_the_surplus_needs_in_rank_order() -> None:
    slots = [slot("a", 0), slot("b", 1, on=True), slot("c", 2)]
    assert pick(slots, 2000.0) == {"a"}  # a alone takes it all, whoever ran before
    assert pick(slots, 5000.0) == {"a", "b"}  # a at most 3.68 kW: b takes the rest at >= its minimum
    assert pick(slots, 9000.0) == {"a", "b", "c"}
    assert pick(slots, 1000.0) == set()


def test_pick_skips_a_minimum_that_does_not_fit_for_a_smaller_one_that_does() -> None:
    three = Slot("three", 4140.0, 11040.0, rank=(0,))
    assert pick([three, slot("one", 1)], 3000.0) == {"one"}


def test_floors_are_always_in_and_use_the_sun_first() -> None:
    slots = [slot("a", 0), slot("b", 1, floor=1380.0)]
    assert pick(slots, 1500.0) == {"b"}
    assert distribute([slot("b", 1, floor=1380.0)], 3000.0) == {"b": 3000.0}


def test_distribute_fills_in_rank_order() -> None:
    power = distribute([slot("a", 0), slot("b", 1)], 6000.0)
    assert power == {"a": 3680.0, "b": 2320.0}


def test_spare_surplus_goes_to_cars_that_took_less_than_offered() -> None:
    capped = Slot("capped", 1380.0, 2530.0, rank=(0,), spare_w=1150.0)
    power = distribute([capped, slot("b", 1)], 5000.0)
    assert power == {"capped": 2530.0, "b": 2470.0}
    power = distribute([capped, slot("b", 1)], 7000.0)
    assert power == {"capped": 3320.0, "b": 3680.0}


def test_enforce_turns_down_the_lowest_rank_first_and_pauses_below_the_minimum() -> None:
    loads = [Load("a", 16.0, 1, 1, 6.0, None), Load("b", 16.0, 1, 1, 6.0, None)]
    amps, why = enforce(loads, (25.0, 25.0, 25.0), ())
    assert amps == {"a": 16.0, "b": 9.0} and why == {"b": "site limit on L1"}
    amps, _ = enforce(loads, (20.0, 25.0, 25.0), ())
    assert amps == {"a": 16.0, "b": 0.0}


def test_enforce_respects_nested_circuits_and_phases() -> None:
    circuits = (Circuit("main", 32.0), Circuit("sub", 10.0, parent_id="main"))
    loads = [
        Load("a", 16.0, 3, 1, 6.0, "main"),
        Load("b", 16.0, 1, 2, 6.0, "sub"),
        Load("c", 16.0, 1, 3, 6.0, None),
    ]
    amps, why = enforce(loads, (63.0, 63.0, 63.0), circuits)
    assert amps == {"a": 16.0, "b": 10.0, "c": 16.0}
    assert why == {"b": "circuit sub limit on L2"}
