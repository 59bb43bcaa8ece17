"""Password reset by e-mail: a single-use link, valid for an hour, mailed to the account's address.

Asking never tells whether an e-mail has an account (the answer and its timing are the same: the mail is
sent from a background thread either way), and at most `MAX_OPEN` links are open per account, so nobody
can flood a person's inbox. Using a link sets the new password, lifts a lock-out and closes every open
session of the account: whoever had the old password is signed out. Only the token's hash is stored.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import Session, col, select

from pipelet_app import audit
from pipelet_app.auth.errors import InvalidInput
from pipelet_app.auth.secrets import hash_password, hash_token, new_token, password_problem
from pipelet_app.clock import utcnow
from pipelet_app.db.models import AuthSession, PasswordReset, User
from pipelet_app.notify.mail import MailNotConfigured, send_mail
from pipelet_app.settings import get_settings

VALID_FOR = timedelta(hours=1)
MAX_OPEN = 3
INVALID_LINK = "token: this link is invalid, used or expired; ask for a new one"
log = logging.getLogger("pipelet.auth")


class ResetUnavailable(InvalidInput):
    """No SMTP_URL: the installation cannot mail links (the page says so instead of pretending)."""


def available() -> bool:
    return bool(get_settings().smtp_url)


def prepare(db: Session, email: str, address: str) -> tuple[str, str] | None:
    """A new link for the account behind `email`: (address to mail, message body), or None when there is
    no such active account or it has `MAX_OPEN` open links already. Commits the link before it is sent."""
    if not available():
        raise ResetUnavailable(
            "Password reset by e-mail is not set up here (SMTP_URL); ask your administrator."
        )
    user = db.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None or not user.is_active or user.id is None:
        log.info("password reset asked for an unknown e-mail", extra={"address": address})
        return None
    now = utcnow()
    open_links = db.exec(
        select(PasswordReset).where(
            PasswordReset.user_id == user.id,
            col(PasswordReset.used_at).is_(None),
            PasswordReset.expires_at > now,
        )
    ).all()
    if len(open_links) >= MAX_OPEN:
        log.warning("password reset refused: open links", extra={"user_id": user.id, "address": address})
        return None
    token = new_token()
    db.add(PasswordReset(token_hash=hash_token(token), user_id=user.id, expires_at=now + VALID_FOR))
    anonymous = audit.Named(f"anonymous from {address}")
    audit.record(db, anonymous, "auth.password_reset_requested", "user", user.id, tenant_id=user.tenant_id)
    db.commit()
    link = f"{get_settings().web_url}/reset-password/{token}"
    body = (
        f"Someone (hopefully you) asked to reset the password of your Pipelet account {user.email}.\n\n"
        f"Choose a new password here within the next hour:\n{link}\n\n"
        "The link works once. If you did not ask for it, ignore this e-mail: your password stays as it is."
    )
    return user.email, body


def mail(to: str, body: str) -> None:
    """Sends the link (called off the request: an SMTP round trip must not tell known e-mails apart)."""
    try:
        send_mail([to], "Reset your Pipelet password", body)
    except (MailNotConfigured, OSError) as exc:
        log.error("password reset mail not sent: %s", type(exc).__name__, exc_info=True)


def _open_link(db: Session, token: str) -> PasswordReset:
    row = (
        db.exec(select(PasswordReset).where(PasswordReset.token_hash == hash_token(token))).first()
        if token
        else None
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise InvalidInput(INVALID_LINK)
    return row


def check_link(db: Session, token: str) -> str:
    """The e-mail the link resets (for the page to show); InvalidInput naming `token` otherwise."""
    user = db.get(User, _open_link(db, token).user_id)
    if user is None or not user.is_active:
        raise InvalidInput(INVALID_LINK)
    return user.email


def complete(db: Session, token: str, password: str, address: str) -> int:
    """Sets the new password through the link; returns the user's id."""
    link = _open_link(db, token)
    if problem := password_problem(password):
        raise InvalidInput(problem)
    user = db.get(User, link.user_id)
    if user is None or not user.is_active:
        raise InvalidInput(INVALID_LINK)
    now = utcnow()
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    for other in db.exec(
        select(PasswordReset).where(PasswordReset.user_id == user.id, col(PasswordReset.used_at).is_(None))
    ).all():
        other.used_at = now  # this one, and any other link still open
        db.add(other)
    closed = 0
    for session in db.exec(
        select(AuthSession).where(AuthSession.user_id == user.id, col(AuthSession.revoked_at).is_(None))
    ).all():
        session.revoked_at = now
        db.add(session)
        closed += 1
    db.add(user)
    anonymous = audit.Named(f"anonymous from {address}")
    changes = {"sessions_closed": [None, closed]}
    audit.record(db, anonymous, "auth.password_reset", "user", user.id, changes, tenant_id=user.tenant_id)
    db.commit()
    log.info("password reset", extra={"user_id": user.id, "sessions_closed": closed})
    assert user.id is not None
    return user.id
