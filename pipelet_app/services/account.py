"""The signed-in user's own settings that every page needs (today: the language).

A service rather than part of `portals/account/data.py` because `portals/session_state.py`, which
every portal page (the account pages included) builds on, calls it: keeping it in `portals/account`
made session_state and the account portal import each other.
"""

from __future__ import annotations

from sqlmodel import Session

from pipelet_app.auth import InvalidInput, Principal
from pipelet_app.db.models import User
from pipelet_app.i18n import LOCALES


def set_my_locale(db: Session, principal: Principal, locale: str) -> None:
    """Store the caller's language; any signed-in role may set its own, and only its own."""
    if locale not in LOCALES:
        raise InvalidInput(f"locale: one of {', '.join(LOCALES)}")
    user = db.get(User, principal.user_id)
    assert user is not None
    user.locale = locale
    db.add(user)
    db.commit()
