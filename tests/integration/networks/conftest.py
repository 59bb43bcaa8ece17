"""Shared fixtures of the network tests: the Loop fake as the configured Loop API, and an API client over
the demo data set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from pipelet_app.api import build_api
from pipelet_app.settings import get_settings
from tests.fakes.networks import FakeLoop


@pytest.fixture
def loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLoop]:
    with FakeLoop() as fake:
        monkeypatch.setenv("LOOP_API_BASE", fake.url)
        get_settings.cache_clear()
        yield fake
    get_settings.cache_clear()


@pytest.fixture
def client(demo: dict, loop: FakeLoop) -> Iterator[TestClient]:
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        yield test_client
