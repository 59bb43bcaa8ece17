"""Fixtures for CSMS integration tests: a live CSMS on a loopback port over the shared `database`
fixture (tests/conftest.py: SQLite copy of a migrated template, and PostgreSQL when reachable), and two
nodes sharing the database and a Redis: node A in the test process, node B as `csms_server.py`."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from csms_helpers import CsmsProcess

from pipelet_app.db import reset_engine
from pipelet_app.ocpp.server import CsmsServer
from tests.integration.running_csms import running_csms
from tests.pipelet_process import free_port


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
    async with running_csms() as server:
        yield server


@pytest.fixture
async def csms_any(database: str) -> AsyncIterator[CsmsServer]:
    """A CSMS on SQLite and on PostgreSQL (the `database` fixture is parametrized)."""
    async with running_csms() as server:
        yield server


@pytest.fixture
def processes() -> Iterator[list[CsmsProcess]]:
    started: list[CsmsProcess] = []
    yield started
    for proc in started:
        proc.stop()


@pytest.fixture
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                import time

                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture
async def node_a(database: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[CsmsServer]:
    """Node A lives in the test process, like a web app process that also runs a CSMS node."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    from pipelet_app.settings import get_settings

    get_settings.cache_clear()
    server = CsmsServer("127.0.0.1", 0, node_id="node-A")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def node_b(node_a: CsmsServer, redis_url: str, processes: list[CsmsProcess]) -> CsmsProcess:
    """Node B: `csms_server.py` as a process of its own, on node A's database and Redis."""
    node = CsmsProcess(free_port(), {"REDIS_URL": redis_url})
    processes.append(node)
    await node.start()
    return node
