"""Password login and server-side sessions with expiry.

The browser holds only a random token; the row behind it says who it is and until when. Logging out or
expiry revokes the row, so a copied token stops working at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, select

from pipelet_app.auth.demo_exposure import REFUSED as DEMO_REFUSED
from pipelet_app.auth.demo_exposure import demo_login_refused
from pipelet_app.auth.errors import NotAuthenticated
from pipelet_app.auth.principal import Principal
from pipelet_app.auth.secrets import hash_token, new_token, verify_password
from pipelet_app.clock import utcnow
from pipelet_app.db.models import AuthSession, User
from pipelet_app.settings import get_settings

WRONG_CREDENTIALS = "Wrong e-mail or password."
SESSION_COOKIE = "pipelet_session"  # the browser cookie holding the session token
log = logging.getLogger("pipelet.auth")  # user ids and outcomes only: never a password or a token


class LoginFailed(NotAuthenticated):
    pass


@dataclass(frozen=True)
class LoginCandidate:
    """What a password check needs to know of an e-mail: the hash to check (None = unknown or inactive)."""

    user_id: int | None
    password_hash: str | None


def login_candidate(db: Session, email: str) -> LoginCandidate:
    """Raises LoginFailed for a demo account while PUBLIC_URL is a public address (`auth.demo_exposure`)."""
    if demo_login_refused(email):
        raise LoginFailed(DEMO_REFUSED)
    user = db.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None or not user.is_active:
        return LoginCandidate(None, None)
    return LoginCandidate(user.id, user.password_hash)


def open_session(db: Session, user_id: int) -> str:
    """A new session for a user whose password was just checked; returns the token for the cookie."""
    token = new_token()
    db.add(
        AuthSession(
            token_hash=hash_token(token),
            user_id=user_id,
            expires_at=utcnow() + timedelta(hours=get_settings().session_ttl_hours),
        )
    )
    db.commit()
    log.info("session opened", extra={"user_id": user_id})
    return token


def login(db: Session, email: str, password: str) -> str:
    """Check the password and open a session; returns the session token for the browser.

    An unknown e-mail is checked against a dummy hash, so it costs the same and answers the same. Attempt
    budgets and lock-out live in front of this, in the sign-in route (`api/browser_auth.py`), keyed by
    e-mail *and* address, so nobody can lock another person out and no answer tells known e-mails apart.
    """
    candidate = login_candidate(db, email)
    if not verify_password(candidate.password_hash, password) or candidate.user_id is None:
        raise LoginFailed(WRONG_CREDENTIALS)
    return open_session(db, candidate.user_id)


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
        log.info("session closed", extra={"user_id": auth_session.user_id})
