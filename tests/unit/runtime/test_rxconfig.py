"""Reflex configuration: state never on disk, CORS only for the configured origins."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest

from pipelet_app.settings import get_settings


@pytest.fixture(autouse=True)
def _restore_config() -> Iterator[None]:
    """Later tests in this process see the configuration of the real environment again."""
    yield
    import rxconfig

    get_settings.cache_clear()
    importlib.reload(rxconfig)


def _config(monkeypatch: pytest.MonkeyPatch, **env: str):
    for name in ("REDIS_URL", "CORS_ALLOW_ORIGINS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    import rxconfig

    try:
        return importlib.reload(rxconfig).config
    finally:
        get_settings.cache_clear()


def test_embedded_state_in_memory_and_no_cors_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(monkeypatch)
    assert config.state_manager_mode == "memory"
    assert list(config.cors_allowed_origins) == []


def test_redis_state_and_an_explicit_cors_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(
        monkeypatch,
        REDIS_URL="redis://127.0.0.1:6379/0",
        CORS_ALLOW_ORIGINS="https://partner.example, https://erp.example/",
    )
    assert config.state_manager_mode == "redis" and config.redis_url == "redis://127.0.0.1:6379/0"
    assert list(config.cors_allowed_origins) == ["https://partner.example", "https://erp.example"]
