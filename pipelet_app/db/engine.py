"""One engine per process, built from DATABASE_URL.

SQLite gets WAL and a busy timeout because three processes (web, CSMS, workers) write to one file in the
embedded deployment; without them a CSMS write during a page load fails with "database is locked".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

from pipelet_app.settings import get_settings


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_engines: dict[str, Engine] = {}


def get_engine() -> Engine:
    url = get_settings().database_url
    if url not in _engines:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            # Columns hold naive UTC; a session zone of UTC keeps every server-side comparison in UTC too.
            engine = create_engine(
                url,
                pool_pre_ping=True,
                pool_size=10,
                max_overflow=20,
                connect_args={"options": "-c timezone=UTC"},
            )
        _engines[url] = engine
    return _engines[url]


def reset_engine() -> None:
    """Dispose every engine (tests switch DATABASE_URL between databases; forked workers need fresh pools)."""
    get_settings.cache_clear()
    while _engines:
        _engines.popitem()[1].dispose()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on any error: nothing is ever half-written."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
