"""The application's one "now".

Every "what time is it" in pipelet_app and pollers goes through `utcnow()` (or `today()`), never through
`datetime.now` directly, so that one switch moves the whole application in time: tests pin it to the
instant they reason about (`frozen`), and the date pass of CI also travels the process clock itself with
time-machine (tests/conftest.py). Durations and timeouts keep `time.monotonic`; they are not dates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime

Source = Callable[[], datetime]


def _system() -> datetime:
    return datetime.now(UTC)


_source: Source = _system


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC."""
    return _source()


def today() -> date:
    """Today's UTC date (callers that mean a local day convert `utcnow()` to the site's zone instead)."""
    return utcnow().date()


@contextmanager
def use(source: Source) -> Iterator[None]:
    """Within the block every `utcnow()` asks `source`, e.g. a fake that a test advances."""
    global _source
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous


def frozen(at: datetime) -> AbstractContextManager[None]:
    """Within the block `utcnow()` is always `at` (aware; converted to UTC)."""
    if at.tzinfo is None:
        raise ValueError("frozen: a naive datetime has no instant")
    moment = at.astimezone(UTC)
    return use(lambda: moment)
