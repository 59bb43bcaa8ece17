"""One derivation from PIPELET_SECRET_KEY, no fallback: a missing key is an error naming the variable."""

from __future__ import annotations

import pytest

from pipelet_app import keys
from pipelet_app.errors import BadInput
from pipelet_app.inverters.credentials import CredentialKeyError, decrypt_credentials, encrypt_credentials
from pipelet_app.ocpp.node import internal_token
from pipelet_app.settings import get_settings


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELET_SECRET_KEY", "")
    # an empty variable wins over a developer's .env
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_purposes_get_independent_keys_and_the_key_matters(monkeypatch: pytest.MonkeyPatch) -> None:
    a = keys.derive(b"pipelet/a/v1")
    assert a != keys.derive(b"pipelet/b/v1")
    assert len(a) == 32 and len(keys.derive(b"pipelet/a/v1", length=15)) == 15
    monkeypatch.setenv("PIPELET_SECRET_KEY", "another key")
    get_settings.cache_clear()
    assert keys.derive(b"pipelet/a/v1") != a


def test_loopback_token_follows_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = internal_token()
    monkeypatch.setenv("PIPELET_SECRET_KEY", "another key")
    get_settings.cache_clear()
    assert internal_token() != before


@pytest.mark.usefixtures("no_key")
def test_no_key_no_fallback_anywhere() -> None:
    with pytest.raises(keys.MissingSecretKey, match=r"^PIPELET_SECRET_KEY: not set"):
        keys.require_secret_key()
    with pytest.raises(keys.MissingSecretKey):
        internal_token()
    with pytest.raises(CredentialKeyError, match="PIPELET_SECRET_KEY: not set"):
        encrypt_credentials({"api_key": "x"})
    assert issubclass(keys.MissingSecretKey, BadInput)  # the CLI prints one line and exits 2


def test_rotation_decrypts_under_the_previous_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELET_SECRET_KEY", "old")
    get_settings.cache_clear()
    token = encrypt_credentials({"api_key": "abc"})
    monkeypatch.setenv("PIPELET_SECRET_KEY", "new")
    monkeypatch.setenv("PIPELET_SECRET_KEY_PREVIOUS", "old")
    get_settings.cache_clear()
    assert decrypt_credentials(token) == {"api_key": "abc"}
    monkeypatch.setenv("PIPELET_SECRET_KEY_PREVIOUS", "")
    get_settings.cache_clear()
    with pytest.raises(CredentialKeyError):
        decrypt_credentials(token)
