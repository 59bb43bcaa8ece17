"""The budgets' windows are fixed (`api.ratelimit`): a budget is spent within its window and starts
afresh at the next one, so a burst straddling a window's end may get up to twice the limit. Tested at
chosen instants, as every other budget test is kept away from window ends (tests/conftest.py)."""

from __future__ import annotations

import pytest

from pipelet_app.api import ratelimit
from pipelet_app.api.ratelimit import MemoryLimiter

MINUTE = 1_800_000_000  # a minute's (and an hour's) start


def at(monkeypatch: pytest.MonkeyPatch, instant: float) -> None:
    monkeypatch.setattr(ratelimit, "_now", lambda: instant)


def test_a_budget_spent_in_its_window_says_how_long_to_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = MemoryLimiter()
    at(monkeypatch, MINUTE + 10.5)
    assert [limiter.hit("k", 3) for _ in range(3)] == [None, None, None]
    assert limiter.hit("k", 3) == 50  # the window ends at MINUTE + 60
    assert limiter.count("k") == (4, 50)


def test_a_burst_straddling_a_window_end_starts_afresh_at_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = MemoryLimiter()
    at(monkeypatch, MINUTE + 59.9)
    assert [limiter.hit("k", 3) for _ in range(3)] == [None, None, None]
    assert limiter.hit("k", 3) == 1  # spent; 0.1 s left, rounded up to a whole second
    at(monkeypatch, MINUTE + 60.1)
    assert [limiter.hit("k", 3) for _ in range(3)] == [None, None, None]
    assert limiter.hit("k", 3) == 60
