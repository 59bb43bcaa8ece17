"""Fixtures the integration tests share beyond tests/conftest.py: the API test client.

A test file whose client needs more set-up first (a charger's facts, a fake cloud) defines its own
`client` taking those fixtures; the helpers for keys are in tests/integration/api_keys.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from pipelet_app.api import build_api
from pipelet_app.api.ratelimit import limiter_for


@pytest.fixture
def client(demo: dict) -> Iterator[TestClient]:
    """The API (`/api/v1`) over the demo seed, with a fresh rate-limit budget; server errors come back
    as 500 responses (as a real client sees them) rather than as exceptions in the test."""
    limiter_for.cache_clear()
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        yield test_client
