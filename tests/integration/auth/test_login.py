"""Password login, session expiry and logout, on both backends (lock-out: tests/integration/security)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from pipelet_app.auth import NotAuthenticated
from pipelet_app.auth import sessions as auth
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import AuthSession, Role


def test_login_resolves_to_the_user(demo: dict) -> None:
    with session_scope() as db:
        token = auth.login(db, "Driver@Acme.demo ", "pipelet-driver")
        principal = auth.resolve(db, token)
    assert principal.email == "driver@acme.demo"
    assert principal.role == Role.DRIVER
    with session_scope() as db:
        stored = db.exec(select(AuthSession)).all()
    assert len(stored) == 1 and stored[0].token_hash != token, "only the hash is stored"


@pytest.mark.parametrize(
    "email,password", [("driver@acme.demo", "wrong-password"), ("nobody@x.y", "pipelet-driver")]
)
def test_wrong_credentials_say_the_same_thing(demo: dict, email: str, password: str) -> None:
    with session_scope() as db, pytest.raises(auth.LoginFailed, match="Wrong e-mail or password"):
        auth.login(db, email, password)


def test_expired_and_revoked_sessions_are_refused(demo: dict) -> None:
    with session_scope() as db:
        token = auth.login(db, "fleet@acme.demo", "pipelet-fleet")
        row = db.exec(select(AuthSession)).one()
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.add(row)
    with session_scope() as db, pytest.raises(NotAuthenticated, match="expired"):
        auth.resolve(db, token)

    with session_scope() as db:
        token = auth.login(db, "fleet@acme.demo", "pipelet-fleet")
        auth.logout(db, token)
    with session_scope() as db, pytest.raises(NotAuthenticated):
        auth.resolve(db, token)


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_missing_or_forged_token(demo: dict, token: str | None) -> None:
    with session_scope() as db, pytest.raises(NotAuthenticated):
        auth.resolve(db, token)


def test_demo_logins_are_refused_when_public_url_is_public(
    demo: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelet_app.settings import get_settings

    monkeypatch.setenv("PUBLIC_URL", "https://charging.example.com")
    get_settings.cache_clear()
    try:
        with session_scope() as db, pytest.raises(auth.LoginFailed, match="Demo logins are turned off"):
            auth.login(db, "admin@pipelet.demo", "pipelet-admin")
        with session_scope() as db:
            assert not db.exec(select(AuthSession)).all()
    finally:
        monkeypatch.delenv("PUBLIC_URL")
        get_settings.cache_clear()
    with session_scope() as db:
        assert auth.login(db, "admin@pipelet.demo", "pipelet-admin")  # local again: the demo works


def test_the_sign_in_page_knows_a_demo_installation(database: str) -> None:
    from pipelet_app.auth.demo_exposure import demo_installation
    from pipelet_app.db.models import Role, User

    assert not demo_installation()
    with session_scope() as db:
        db.add(User(email="ops@sonnenstrom.de", name="Ops", role=Role.OPERATOR, password_hash="x"))
    assert not demo_installation()
    with session_scope() as db:
        db.add(User(email="admin@pipelet.demo", name="Ada", role=Role.ADMIN, password_hash="x"))
    assert demo_installation()
