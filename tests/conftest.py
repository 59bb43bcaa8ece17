"""Shared fixtures: a migrated database per backend, a clean environment per test, and the date pass.

Integration tests take the `database` fixture, which runs them once on SQLite (the embedded default) and
once on the machine's PostgreSQL. PostgreSQL tests skip with a reason when the server is not reachable;
CI has it, so there they run.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from pipelet_app.db import get_engine, reset_engine
from pipelet_app.settings import get_settings
from tests.pipelet_process import free_port

PG_ADMIN_URL = os.environ.get("PIPELET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_SECRET = "test-secret-key-not-for-production"
TEST_NOW = os.environ.get("PIPELET_TEST_NOW", "")
AWKWARD_YEAR = 2027


def _pg_url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        _pg_admin("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
    return None


def migrate(url: str) -> None:
    """Run the migrations on `url`, leaving DATABASE_URL as it was."""
    from pipelet_app.cli.db import upgrade_database

    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    reset_engine()
    try:
        upgrade_database()
    finally:
        reset_engine()
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees the developer's .env or DATABASE_URL; each starts from the defaults."""
    for name in list(os.environ):
        if name in ("DATABASE_URL", "REDIS_URL", "CSMS_AUTO_REGISTER") or name.endswith("_API_BASE"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIPELET_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'default.db'}")
    reset_engine()
    yield
    reset_engine()


_budget_windows = itertools.count(1)


@pytest.fixture(autouse=True)
def _budget_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rate-limit and sign-in budgets are cut in fixed windows of the wall clock (a minute; the lock-out's
    minutes), so hits that straddle a window's end start afresh part-way: a budget test would pass only
    at some instants (CI once saw five sign-ins from one address at 05:09:59.956-05:10:00.524 all
    admitted against a budget of three). Each test's budgets start 1 s into windows of their own (an
    hour's start, which every window length dividing an hour shares), the clock ticking on in real time.
    tests/unit/api/test_ratelimit_windows.py tests the boundary itself."""
    from pipelet_app.api import ratelimit

    start = (math.floor(time.time() / 3600) + next(_budget_windows)) * 3600 + 1.0
    began = time.monotonic()
    monkeypatch.setattr(ratelimit, "_now", lambda: start + (time.monotonic() - began))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """PIPELET_TEST_NOW=awkward runs each `dates` test once per instant of tests/awkward_instants.py."""
    if TEST_NOW == "awkward" and metafunc.definition.get_closest_marker("dates"):
        from tests.awkward_instants import awkward_instants

        instants = [moment.isoformat() for moment in awkward_instants(AWKWARD_YEAR)]
        metafunc.parametrize("_test_now", instants, indirect=True, ids=instants)


@pytest.fixture(autouse=True)
def _test_now(request: pytest.FixtureRequest) -> Iterator[None]:
    """With PIPELET_TEST_NOW=<ISO 8601 instant with offset> every test starts at that instant.

    The clock ticks on from there (time-machine `tick=True`), so timeouts, asyncio and "a second later"
    still work. With PIPELET_TEST_NOW=awkward the `dates` tests run at each awkward instant (CI's date
    pass, scripts/test.sh) and the others at the real time. Only this process travels: a test that starts
    a subprocess runs it through tests/at_test_now.py.
    """
    now = getattr(request, "param", "" if TEST_NOW == "awkward" else TEST_NOW)
    if not now:
        yield
        return
    import time_machine

    start = datetime.fromisoformat(now)
    if start.tzinfo is None:
        raise pytest.UsageError(f"PIPELET_TEST_NOW needs an offset: {now!r}")
    with time_machine.travel(start, tick=True):
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating per test would dominate the run time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped at the end."""
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    name = f"pipelet_test_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    migrate(url)
    yield url
    reset_engine()
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate_all() -> None:
    """Empty every table of the models and restart their ids, as `TRUNCATE ... RESTART IDENTITY` would.

    Why not TRUNCATE: it gives each of the ~70 tables and their indexes new files, 1.4-2.4 s a test on the
    shared 2-core box (about 20 min of worker time over the ~720 PostgreSQL tests); DELETE of the few rows
    a test left is 0.02-0.03 s. Triggers and foreign-key checks are off for the transaction
    (`session_replication_role = replica`: every table is emptied, so there is nothing to keep
    consistent; the test's triggers recomputing sums of rows about to go would be wasted). A role that
    may not set that (not a superuser, PIPELET_TEST_PG) gets the TRUNCATE."""
    from sqlalchemy.exc import DBAPIError
    from sqlmodel import SQLModel

    import pipelet_app.db.models  # noqa: F401

    names = [t.name for t in SQLModel.metadata.sorted_tables]
    deletes = "".join(f'DELETE FROM "{name}"; ' for name in reversed(names))
    emptied = f"""DO $$ DECLARE s record; BEGIN
        SET LOCAL session_replication_role = replica;
        {deletes}
        FOR s IN SELECT schemaname, sequencename, start_value FROM pg_sequences
                 WHERE schemaname = current_schema() AND last_value IS NOT NULL LOOP
            PERFORM setval(format('%I.%I', s.schemaname, s.sequencename), s.start_value, false);
        END LOOP;
    END $$"""
    try:
        with get_engine().begin() as conn:
            conn.execute(text(emptied))
    except DBAPIError:
        tables = ", ".join(f'"{name}"' for name in names)
        with get_engine().begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """An empty, migrated database of each backend, set as DATABASE_URL."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        monkeypatch.setenv("DATABASE_URL", url)
        reset_engine()
    else:
        url = request.getfixturevalue("postgres_database")
        monkeypatch.setenv("DATABASE_URL", url)
        reset_engine()
        _truncate_all()
    return url


@pytest.fixture
def logins_in_memory() -> Iterator[object]:
    """Vendor logins counted in a fresh in-memory ledger (`inverters.login_ledger`) for a test without a
    migrated database (every unit test; an adapter test that needs no `database`)."""
    from pipelet_app.inverters import login_ledger

    ledger = login_ledger.MemoryLoginLedger()
    previous = login_ledger.install(ledger)
    yield ledger
    login_ledger.install(previous)


@pytest.fixture
def demo(database: str) -> dict:
    """The demo data set, seeded into `database`."""
    from pipelet_app.db import session_scope
    from pipelet_app.demo.seed import seed_demo

    with session_scope() as db:
        return seed_demo(db)


class Inbox:
    """What an SMTP server on loopback (aiosmtpd) received: (recipients, raw message) pairs."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook name
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture
def smtp_inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{port}")
    get_settings.cache_clear()
    yield handler
    controller.stop()
