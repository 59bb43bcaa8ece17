"""Admission from the node's directory: known chargers in without a lookup, changes within a refresh."""

from __future__ import annotations

import pytest
from csms_helpers import add_charger, charger_row

from pipelet_app.db import session_scope
from pipelet_app.ocpp import chargers
from pipelet_app.ocpp.admission import Admission

pytestmark = pytest.mark.usefixtures("db")


def test_a_known_charger_without_password_is_decided_from_memory() -> None:
    charger_id = add_charger("ADM-1")
    admission = Admission(auto_register=False)
    assert admission.decide_fast("ADM-1", None) is None  # nothing loaded yet
    assert admission.refresh() >= 1
    assert admission.decide_fast("ADM-1", None) == ("ok", charger_id)
    assert admission.decide_fast("ADM-UNKNOWN", None) is None
    assert admission.decide("ADM-UNKNOWN", None) == ("unknown", None)


def test_a_new_charger_is_looked_up_and_auto_registered_at_once() -> None:
    admission = Admission(auto_register=True)
    admission.refresh()
    verdict, charger_id = admission.decide("ADM-NEW", None)
    assert verdict == "ok"
    assert charger_id == charger_row("ADM-NEW").id
    assert admission.decide_fast("ADM-NEW", None) == ("ok", charger_id)


def test_verified_credentials_skip_argon2_until_the_password_changes() -> None:
    charger_id = add_charger("ADM-PW", password="s3cret-s3cret")
    admission = Admission(auto_register=False)
    admission.refresh()
    good = ("ADM-PW", "s3cret-s3cret")
    assert admission.decide_fast("ADM-PW", good) is None  # never verified: needs argon2
    assert admission.decide("ADM-PW", ("ADM-PW", "wrong")) == ("unauthorized", None)
    assert admission.decide("ADM-PW", good) == ("ok", charger_id)
    assert admission.decide_fast("ADM-PW", good) == ("ok", charger_id)
    assert admission.decide_fast("ADM-PW", ("ADM-PW", "wrong")) is None

    # Changed by another process: the old password works until the directory is reloaded, not after.
    with session_scope() as db:
        chargers.set_basic_auth_password(db, charger_id, "n3w-password-n3w")
    assert admission.decide_fast("ADM-PW", good) == ("ok", charger_id)
    admission.refresh()
    assert admission.decide_fast("ADM-PW", good) is None
    assert admission.decide("ADM-PW", good) == ("unauthorized", None)
    assert admission.decide("ADM-PW", ("ADM-PW", "n3w-password-n3w")) == ("ok", charger_id)


def test_forget_applies_a_password_change_made_through_this_node_at_once() -> None:
    charger_id = add_charger("ADM-FG")
    admission = Admission(auto_register=False)
    admission.refresh()
    with session_scope() as db:
        chargers.set_basic_auth_password(db, charger_id, "fresh-password-1")
    assert admission.decide_fast("ADM-FG", None) == ("ok", charger_id)  # stale until told
    admission.forget("ADM-FG")
    assert admission.decide_fast("ADM-FG", None) is None
    assert admission.decide("ADM-FG", None) == ("unauthorized", None)
