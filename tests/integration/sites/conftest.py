"""Shared fixtures of the site tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pipelet_app.ocpp.server import CsmsServer


@pytest.fixture
async def csms(database: str) -> AsyncIterator[CsmsServer]:
    """A CSMS on a free loopback port over the test database (raw-JSON chargers connect to it)."""
    server = CsmsServer("127.0.0.1", 0, node_id="test-node", auto_register=False, ping_interval_s=30)
    await server.start()
    yield server
    await server.stop()
