"""seqNo bookkeeping: gaps counted exactly, late messages fill them, duplicates change nothing."""

from __future__ import annotations

import random

import pytest

from pipelet_app.ocpp.seqno import SeqState, add, format_state, parse


def feed(numbers: list[int]) -> SeqState:
    state = SeqState()
    for number in numbers:
        state = add(state, number).state
    return state


def test_in_order_is_one_range_without_gaps() -> None:
    state = feed([0, 1, 2, 3])
    assert (format_state(state), state.last, state.missing) == ("0-3", 3, 0)


def test_gap_then_late_message_fills_it() -> None:
    state = feed([0])
    jump = add(state, 2)
    assert (jump.skipped, jump.late, jump.duplicate) == (1, False, False)
    assert (format_state(jump.state), jump.state.missing, jump.state.missing_numbers()) == ("0,2", 1, [1])
    ended = add(jump.state, 3)
    assert (ended.skipped, format_state(ended.state), ended.state.last, ended.state.missing) == (
        0,
        "0,2-3",
        3,
        1,
    )
    late = add(ended.state, 1)
    assert (late.late, late.skipped) == (True, 0)
    assert (format_state(late.state), late.state.last, late.state.missing) == ("0-3", 3, 0)


def test_duplicate_changes_nothing() -> None:
    state = feed([0, 2])
    again = add(state, 2)
    assert again.duplicate and again.state == state


def test_missing_start_counts() -> None:
    update = add(SeqState(), 3)  # Started (0) and two Updated never arrived
    assert (update.skipped, update.state.missing, update.state.missing_numbers()) == (3, 3, [0, 1, 2])


def test_missing_numbers_is_bounded() -> None:
    state = feed([0, 10**9])
    assert state.missing == 10**9 - 1
    assert state.missing_numbers(3) == [1, 2, 3]


def test_negative_seq_no_is_refused() -> None:
    with pytest.raises(ValueError):
        add(SeqState(), -1)


def test_text_round_trip() -> None:
    state = feed([5, 0, 1, 2, 7, 8, 9])
    assert format_state(state) == "0-2,5,7-9"
    assert parse(format_state(state)) == state
    assert parse("") == SeqState()


def test_any_order_ends_in_the_same_state() -> None:
    rng = random.Random(7)
    numbers = [n for n in range(40) if n % 7 != 3]
    expected = feed(sorted(numbers))
    for _ in range(50):
        shuffled = numbers[:]
        rng.shuffle(shuffled)
        state = feed(shuffled + shuffled[:5])
        assert state == expected
        assert (state.last, state.missing, state.missing_numbers()) == (39, 6, [3, 10, 17, 24, 31, 38])
