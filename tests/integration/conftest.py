"""Fixtures the integration tests share beyond tests/conftest.py: the API test client, and a CSMS over the
test database.

A test file whose client needs more set-up first (a charger's facts, a fake cloud) defines its own
`client` taking those fixtures; the helpers for keys are in tests/integration/api_keys.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi.testclient import TestClient

from pipelet_app.api import build_api
from pipelet_app.api.ratelimit import limiter_for
from pipelet_app.ocpp.server import CsmsServer
from tests.integration.running_csms import running_csms


@pytest.fixture
def client(demo: dict) -> Iterator[TestClient]:
    """The API (`/api/v1`) over the demo seed, with a fresh rate-limit budget; server errors come back
    as 500 responses (as a real client sees them) rather than as exceptions in the test."""
    limiter_for.cache_clear()
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
async def csms(database: str) -> AsyncIterator[CsmsServer]:
    """A CSMS on a free loopback port over the test database (raw-JSON chargers connect to it); the CSMS
    tests (ocpp/conftest.py) take theirs over SQLite only."""
    async with running_csms() as server:
        yield server
