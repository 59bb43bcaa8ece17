"""Credential encryption at rest, key rotation, and redaction for diagnostics."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelet_app.inverters.credentials import (
    CredentialKeyError,
    decrypt_credentials,
    encrypt_credentials,
    redact,
    rotate_credentials,
    scrub,
)

OLD, NEW = "old-secret-key-for-tests", "new-secret-key-for-tests"
CREDS = {"api_key": "sk-live-1234567890", "userName": "driver@example.com", "expires_at": 1.5}


def test_round_trip_and_ciphertext_hides_the_values() -> None:
    token = encrypt_credentials(CREDS, keys=[NEW])
    assert "sk-live" not in token and "driver@" not in token
    assert decrypt_credentials(token, keys=[NEW]) == CREDS


def test_wrong_key_cannot_decrypt() -> None:
    token = encrypt_credentials(CREDS, keys=[OLD])
    with pytest.raises(CredentialKeyError) as caught:
        decrypt_credentials(token, keys=[NEW])
    assert "sk-live" not in str(caught.value)


def test_rotation_old_key_still_decrypts_and_rotate_moves_to_the_new_key() -> None:
    old_token = encrypt_credentials(CREDS, keys=[OLD])
    assert decrypt_credentials(old_token, keys=[NEW, OLD]) == CREDS
    rotated = rotate_credentials(old_token, keys=[NEW, OLD])
    assert decrypt_credentials(rotated, keys=[NEW]) == CREDS
    with pytest.raises(CredentialKeyError):
        decrypt_credentials(rotated, keys=[OLD])


def test_keys_come_from_settings_and_previous_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelet_app.settings import get_settings

    monkeypatch.setenv("PIPELET_SECRET_KEY", OLD)
    get_settings.cache_clear()
    try:
        token = encrypt_credentials(CREDS)
        monkeypatch.setenv("PIPELET_SECRET_KEY", NEW)
        monkeypatch.setenv("PIPELET_SECRET_KEY_PREVIOUS", f"unrelated, {OLD}")
        get_settings.cache_clear()
        assert decrypt_credentials(token) == CREDS
        monkeypatch.delenv("PIPELET_SECRET_KEY_PREVIOUS")
        get_settings.cache_clear()
        with pytest.raises(CredentialKeyError):
            decrypt_credentials(token)
    finally:
        get_settings.cache_clear()


def test_missing_secret_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelet_app.settings import get_settings

    monkeypatch.setenv("PIPELET_SECRET_KEY", "")
    get_settings.cache_clear()
    try:
        with pytest.raises(CredentialKeyError, match="PIPELET_SECRET_KEY"):
            encrypt_credentials(CREDS)
    finally:
        get_settings.cache_clear()


def test_redact_masks_secret_fields_at_any_depth() -> None:
    diag = {
        "brand": "huawei",
        "credentials": {"userName": "ann", "systemCode": "hunter2", "xsrf_token": "abc"},
        "items": [{"access_token": "t1", "expires_at": 5}],
        "AccessKeyValue": "v",
        "refresh_token": None,
    }
    out = redact(diag)
    assert out["credentials"] == {"userName": "ann", "systemCode": "***", "xsrf_token": "***"}
    assert out["items"] == [{"access_token": "***", "expires_at": 5}]
    assert out["AccessKeyValue"] == "***"
    assert out["brand"] == "huawei"
    assert out["refresh_token"] is None
    assert diag["credentials"]["systemCode"] == "hunter2", "redact returns a copy"
    assert redact({"serial": "X1"}, extra_secret_keys=["serial"]) == {"serial": "***"}


def test_scrub_removes_credential_values_from_text() -> None:
    text = "GET /sites?api_key=sk-live-1234567890 for driver@example.com"
    assert scrub(text, CREDS) == "GET /sites?api_key=*** for ***"


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=30) | st.integers(), max_size=5))
def test_any_credential_dict_round_trips(creds: dict) -> None:
    assert decrypt_credentials(encrypt_credentials(creds, keys=[NEW, OLD]), keys=[NEW, OLD]) == creds
