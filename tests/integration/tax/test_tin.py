"""Partners' TINs at rest: encrypted under PIPELET_SECRET_KEY, readable after a key rotation, and a
clear error (never the TIN) when no configured key opens them."""

from __future__ import annotations

import pytest

from pipelet_app.settings import get_settings
from pipelet_app.tax.tin import TinKeyError, decrypt_tin, encrypt_tin, masked


def _use_keys(monkeypatch: pytest.MonkeyPatch, current: str, previous: str = "") -> None:
    monkeypatch.setenv("PIPELET_SECRET_KEY", current)
    monkeypatch.setenv("PIPELET_SECRET_KEY_PREVIOUS", previous)
    get_settings.cache_clear()


def test_round_trip_and_no_plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    _use_keys(monkeypatch, "key-one")
    token = encrypt_tin("47-1112223")
    assert "1112223" not in token and token != encrypt_tin("47-1112223")  # random IV per value
    assert decrypt_tin(token) == "47-1112223"
    assert decrypt_tin(None) == "" and decrypt_tin("") == ""
    assert masked("47-1112223") == "***-**-2223"


def test_rotation_keeps_old_tins_readable_and_a_lost_key_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _use_keys(monkeypatch, "key-one")
    token = encrypt_tin("36-4445556")
    _use_keys(monkeypatch, "key-two", "key-one")
    assert decrypt_tin(token) == "36-4445556"
    _use_keys(monkeypatch, "key-three")
    with pytest.raises(TinKeyError) as lost:
        decrypt_tin(token)
    assert "4445556" not in str(lost.value)
    _use_keys(monkeypatch, "")
    with pytest.raises(TinKeyError):
        encrypt_tin("36-4445556")
