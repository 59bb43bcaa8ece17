"""Blocking work off the web process's one event loop.

Why: Reflex runs a synchronous event handler, and FastAPI an `async def` route, on the event loop
itself, so every database query or PDF they make stalls every other user's page and API call for as
long as it takes (a K-1 render is 0.6 s, a 20 MB CSV import seconds). Handlers call these instead.

Two lanes, so heavy work cannot starve light work: `blocking` (database reads and writes of a page,
sharing anyio's default pool with FastAPI's sync routes, 40 threads) and `heavy` (tax returns, PDF
renders, CSV imports: at most `HEAVY_THREADS` at once, the rest wait in line). The CPU-bound part still
holds the GIL in slices, which is why the heavy lane is narrow: two renders at a time leave the loop
enough turns to answer within milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar

T = TypeVar("T")

HEAVY_THREADS = 2
_heavy_limiter: RunVar[CapacityLimiter] = RunVar("pipelet_heavy_limiter")


def _heavy() -> CapacityLimiter:
    """One limiter per event loop (tests run several loops; a limiter belongs to the loop it was made on)."""
    try:
        return _heavy_limiter.get()
    except LookupError:
        limiter = CapacityLimiter(HEAVY_THREADS)
        _heavy_limiter.set(limiter)
        return limiter


async def blocking(fn: Callable[..., T], *args: object) -> T:
    """Run a short blocking call (a page's queries) on a worker thread."""
    return await to_thread.run_sync(fn, *args)


async def heavy(fn: Callable[..., T], *args: object) -> T:
    """Run CPU-heavy work (returns, PDFs, imports) on the narrow heavy lane."""
    return await to_thread.run_sync(fn, *args, limiter=_heavy())
