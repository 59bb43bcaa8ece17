from pipelet_app.auth.secrets import hash_password, hash_token, password_problem, verify_password


def test_password_round_trip_and_rejection() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2")
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "wrong horse battery")


def test_missing_or_garbage_hash_never_verifies() -> None:
    assert not verify_password(None, "pipelet-dummy-password")
    assert not verify_password("not-a-hash", "anything")


def test_short_password_is_named() -> None:
    assert password_problem("short") == "password: must be at least 10 characters"
    assert password_problem("long enough password") is None


def test_token_hash_is_stable_and_not_the_token() -> None:
    assert hash_token("abc") == hash_token("abc")
    assert hash_token("abc") != "abc"
