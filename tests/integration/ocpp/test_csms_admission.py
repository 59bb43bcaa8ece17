"""Admission from the node's directory: who is let in with and without credentials, known chargers
decided without a lookup, changes within a refresh, and the limits on guessing and registering."""

from __future__ import annotations

import pytest
from csms_helpers import add_charger, add_charger_with_password, add_tenant, charger_row

from pipelet_app.db import session_scope
from pipelet_app.db.models import ChargerAuthMode
from pipelet_app.ocpp import chargers
from pipelet_app.ocpp.admission import Admission

pytestmark = pytest.mark.usefixtures("db")


def _ok(verdict, charger_id: int, authenticated: bool) -> bool:
    return (verdict.kind, verdict.charger_id, verdict.authenticated) == ("ok", charger_id, authenticated)


async def test_who_gets_in_without_credentials() -> None:
    tenant = add_tenant("adm-op")
    none_id = add_charger("ADM-NONE", tenant_id=tenant, auth_mode=ChargerAuthMode.NONE)
    unclaimed_id = add_charger("ADM-UNCLAIMED", auth_mode=ChargerAuthMode.BASIC)
    add_charger("ADM-NOPW", tenant_id=tenant, auth_mode=ChargerAuthMode.BASIC)
    add_charger_with_password("ADM-PW0", tenant_id=tenant)
    admission = Admission(auto_register=False)
    assert admission.decide_fast("ADM-NONE", None) is None  # nothing loaded yet
    assert admission.refresh() >= 4
    assert _ok(admission.decide_fast("ADM-NONE", None), none_id, authenticated=False)
    assert _ok(admission.decide_fast("ADM-UNCLAIMED", None), unclaimed_id, authenticated=False)
    # Claimed, mode basic, no password yet: refused from memory, no argon2.
    assert admission.decide_fast("ADM-NOPW", ("ADM-NOPW", "anything")).kind == "unauthorized"
    assert (await admission.admit("ADM-PW0", None, "10.0.0.1")).kind == "unauthorized"
    assert admission.decide_fast("ADM-UNKNOWN", None) is None
    assert (await admission.admit("ADM-UNKNOWN", None, "10.0.0.1")).kind == "unknown"


async def test_a_new_charger_is_looked_up_and_auto_registered_at_once() -> None:
    admission = Admission(auto_register=True)
    admission.refresh()
    verdict = await admission.admit("ADM-NEW", None, "10.0.0.1")
    assert _ok(verdict, charger_row("ADM-NEW").id, authenticated=False)
    row = charger_row("ADM-NEW")
    assert row.tenant_id is None and row.auth_mode == ChargerAuthMode.BASIC
    assert _ok(admission.decide_fast("ADM-NEW", None), row.id, authenticated=False)


async def test_auto_registration_is_limited_per_source_and_minute() -> None:
    admission = Admission(auto_register=True, register_per_minute=3)
    admission.refresh()
    verdicts = [await admission.admit(f"ADM-R{i}", None, "10.0.0.9") for i in range(5)]
    assert [v.kind for v in verdicts] == ["ok", "ok", "ok", "throttled", "throttled"]
    assert 0 < verdicts[3].retry_after_s <= 60
    assert (await admission.admit("ADM-R9", None, "10.0.0.10")).kind == "ok"  # another source
    # A known id is not a registration: it gets in whatever the source's count.
    assert (await admission.admit("ADM-R0", None, "10.0.0.9")).kind == "ok"
    unlimited = Admission(auto_register=True, register_per_minute=0)
    assert all([(await unlimited.admit(f"ADM-U{i}", None, "10.0.0.9")).kind == "ok" for i in range(8)])


async def test_verified_credentials_skip_argon2_until_the_password_changes() -> None:
    charger_id, password = add_charger_with_password("ADM-PW")
    admission = Admission(auto_register=False)
    admission.refresh()
    good = ("ADM-PW", password)
    assert admission.decide_fast("ADM-PW", good) is None  # never verified: needs argon2
    assert (await admission.admit("ADM-PW", ("ADM-PW", "wrong"), "10.0.0.1")).kind == "unauthorized"
    assert (await admission.admit("ADM-PW", ("OTHER", password), "10.0.0.1")).kind == "unauthorized"
    assert _ok(await admission.admit("ADM-PW", good, "10.0.0.1"), charger_id, authenticated=True)
    assert _ok(admission.decide_fast("ADM-PW", good), charger_id, authenticated=True)
    assert admission.decide_fast("ADM-PW", ("ADM-PW", "wrong")) is None

    # Changed by another process: the old password works until the directory is reloaded, not after;
    # the new one works at once (a refusal is confirmed against the database).
    with session_scope() as db:
        chargers.set_basic_auth_password(db, charger_id, "n3w-password-n3w")
    assert _ok(admission.decide_fast("ADM-PW", good), charger_id, authenticated=True)
    new = ("ADM-PW", "n3w-password-n3w")
    assert _ok(await admission.admit("ADM-PW", new, "10.0.0.1"), charger_id, authenticated=True)
    admission.refresh()
    assert admission.decide_fast("ADM-PW", good) is None
    assert (await admission.admit("ADM-PW", good, "10.0.0.1")).kind == "unauthorized"
    assert _ok(await admission.admit("ADM-PW", new, "10.0.0.1"), charger_id, authenticated=True)


async def test_failures_back_off_per_id_but_known_credentials_still_get_in() -> None:
    charger_id, password = add_charger_with_password("ADM-BO")
    admission = Admission(auto_register=False)
    admission.refresh()
    good = ("ADM-BO", password)
    assert (await admission.admit("ADM-BO", good, "10.0.0.1")).kind == "ok"  # now known on this node
    kinds = [(await admission.admit("ADM-BO", ("ADM-BO", f"guess-{i}"), "10.0.0.2")).kind for i in range(7)]
    assert kinds[:5] == ["unauthorized"] * 5 and kinds[5:] == ["throttled", "throttled"]
    assert admission.failures_by_id.failures("ADM-BO") == 5  # throttled attempts cost no check
    assert _ok(await admission.admit("ADM-BO", good, "10.0.0.1"), charger_id, authenticated=True)


async def test_forget_applies_a_password_change_made_through_this_node_at_once() -> None:
    charger_id = add_charger("ADM-FG", auth_mode=ChargerAuthMode.BASIC)
    admission = Admission(auto_register=False)
    admission.refresh()
    assert admission.decide_fast("ADM-FG", None).kind == "ok"  # unclaimed, no password
    with session_scope() as db:
        chargers.set_basic_auth_password(db, charger_id, "fresh-password-1")
    assert admission.decide_fast("ADM-FG", None).kind == "ok"  # stale until told
    assert (await admission.admit("ADM-FG", None, "10.0.0.1")).kind == "ok"  # admissions come from memory
    admission.forget("ADM-FG")
    assert admission.decide_fast("ADM-FG", None) is None
    admission.refresh()
    assert not admission.still_admits("ADM-FG", False, None)
