"""Password login with lock-out, and server-side sessions with expiry.

The browser holds only a random token; the row behind it says who it is and until when. Logging out or
expiry revokes the row, so a copied token stops working at once.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlmodel import Session, select

from pipelet_app.auth.errors import NotAuthenticated
from pipelet_app.auth.principal import Principal
from pipelet_app.auth.secrets import hash_token, new_token, verify_password
from pipelet_app.clock import utcnow
from pipelet_app.db.models import AuthSession, User
from pipelet_app.settings import get_settings

WRONG_CREDENTIALS = "Wrong e-mail or password."
SESSION_COOKIE = "pipelet_session"  # the browser cookie holding the session token


class LoginFailed(NotAuthenticated):
    pass


def login(db: Session, email: str, password: str) -> str:
    """Check the password and open a session; returns the session token for the browser."""
    settings = get_settings()
    now = utcnow()
    user = db.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        verify_password(None, password)  # same cost as a real check
        raise LoginFailed(WRONG_CREDENTIALS)
    if user.locked_until and user.locked_until > now:
        minutes = math.ceil((user.locked_until - now).total_seconds() / 60)
        raise LoginFailed(f"Too many failed attempts. Try again in {minutes} minute(s).")
    if not user.is_active or not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
        db.add(user)
        db.commit()
        raise LoginFailed(WRONG_CREDENTIALS)
    user.failed_logins = 0
    user.locked_until = None
    token = new_token()
    db.add(user)
    db.add(
        AuthSession(
            token_hash=hash_token(token),
            user_id=user.id,
            expires_at=now + timedelta(hours=settings.session_ttl_hours),
        )
    )
    db.commit()
    return token


def resolve(db: Session, token: str | None) -> Principal:
    """The principal behind a session token; NotAuthenticated when absent, expired or revoked."""
    if not token:
        raise NotAuthenticated("Please sign in.")
    row = db.exec(
        select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        raise NotAuthenticated("Please sign in.")
    auth_session, user = row
    if auth_session.revoked_at or auth_session.expires_at <= utcnow() or not user.is_active:
        raise NotAuthenticated("Your session has expired. Please sign in again.")
    return Principal.of(user)


def logout(db: Session, token: str | None) -> None:
    if not token:
        return
    auth_session = db.exec(select(AuthSession).where(AuthSession.token_hash == hash_token(token))).first()
    if auth_session and auth_session.revoked_at is None:
        auth_session.revoked_at = utcnow()
        db.add(auth_session)
        db.commit()
