"""Fixtures for CSMS integration tests: a live CSMS on a loopback port over the shared `database`
fixture (tests/conftest.py: SQLite copy of a migrated template, and PostgreSQL when reachable)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pipelet_app.db import reset_engine
from pipelet_app.ocpp.server import CsmsServer


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only, for tests whose behaviour does not depend on the backend."""
    path = tmp_path / "csms.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    reset_engine()
    return url


@pytest.fixture
async def csms(db: str) -> AsyncIterator[CsmsServer]:
    server = CsmsServer("127.0.0.1", 0, node_id="test-node", auto_register=False, ping_interval_s=30)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def csms_any(database: str) -> AsyncIterator[CsmsServer]:
    """A CSMS on SQLite and on PostgreSQL (the `database` fixture is parametrized)."""
    server = CsmsServer("127.0.0.1", 0, node_id="test-node", auto_register=False, ping_interval_s=30)
    await server.start()
    yield server
    await server.stop()
