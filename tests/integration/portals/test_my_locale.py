"""`services.account.set_my_locale`: the language every page's header sets, for the caller only."""

from __future__ import annotations

import pytest
from sqlmodel import select

from pipelet_app.auth import InvalidInput, Principal
from pipelet_app.db import session_scope
from pipelet_app.db.models import User
from pipelet_app.services.account import set_my_locale


def _user(email: str) -> User:
    with session_scope() as db:
        return db.exec(select(User).where(User.email == email)).one()


def test_sets_the_callers_language_and_only_theirs(demo: dict) -> None:
    me, other = _user("driver@acme.demo"), _user("operator@sonnenstrom.demo")
    target = "en" if me.locale == "de" else "de"  # a change, whatever the seed chose
    with session_scope() as db:
        set_my_locale(db, Principal.of(me), target)
    assert _user("driver@acme.demo").locale == target
    assert _user("operator@sonnenstrom.demo").locale == other.locale


def test_an_unknown_language_names_the_field(demo: dict) -> None:
    before = _user("driver@acme.demo").locale
    with session_scope() as db, pytest.raises(InvalidInput, match=r"^locale: one of "):
        set_my_locale(db, Principal.of(_user("driver@acme.demo")), "xx")
    assert _user("driver@acme.demo").locale == before
