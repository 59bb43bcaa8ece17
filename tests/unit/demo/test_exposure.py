"""Demo logins are refused once PUBLIC_URL names an address others can reach."""

from __future__ import annotations

import pytest

from pipelet_app.auth.demo_exposure import demo_login_refused, is_demo_email, is_local_url
from pipelet_app.settings import get_settings


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://localhost:3000",
        "http://127.0.0.1",
        "https://127.8.0.1/x",
        "http://[::1]:3000",
        "http://app.localhost",
    ],
)
def test_local_urls(url: str) -> None:
    assert is_local_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://pipelet.example.com",
        "http://10.0.0.5:3000",
        "http://192.168.1.2",
        "http://localhost.evil.com",
    ],
)
def test_public_urls(url: str) -> None:
    assert not is_local_url(url)


def test_demo_login_refused_only_for_demo_accounts_on_a_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert is_demo_email(" Admin@Pipelet.DEMO ") and not is_demo_email("ops@sonnenstrom.de")
    monkeypatch.setenv("PUBLIC_URL", "https://pipelet.example.com")
    get_settings.cache_clear()
    try:
        assert demo_login_refused("admin@pipelet.demo")
        assert not demo_login_refused("ops@sonnenstrom.de")
        monkeypatch.setenv("PUBLIC_URL", "http://localhost:3000")
        get_settings.cache_clear()
        assert not demo_login_refused("admin@pipelet.demo")
    finally:
        get_settings.cache_clear()
