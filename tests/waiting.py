"""Waiting for a condition instead of sleeping a fixed time: fast when the event comes early, and a
clear failure (not a flaky assertion later) when it does not come at all."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def wait_for(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 5.0, what: str = "condition"
) -> None:
    """Polls `predicate` (sync or async) every 50 ms until it is true; AssertionError after `timeout` s.

    Uses the event loop's monotonic clock, so a test whose wall clock travels still times out right.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        assert loop.time() < deadline, f"{what} not met within {timeout:g} s"
        await asyncio.sleep(0.05)
