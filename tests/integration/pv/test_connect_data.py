"""The connect flow's data layer: roles, ownership, OAuth state, re-coupling, disconnecting, secrets."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from pipelet_app.auth import Forbidden, Principal
from pipelet_app.auth.errors import InvalidInput, NotFound
from pipelet_app.db import session_scope
from pipelet_app.db.models import PvAccount, PvSnapshot, PvWallbox, Role, User
from pipelet_app.inverters.credentials import decrypt_credentials
from pipelet_app.services import pv_connections
from pollers.pv import poll_pv_account
from tests.fakes.inverters import HARNESSES
from tests.fakes.inverters.solaredge import API_KEY
from tests.integration.pv.helpers import couple, make_driver, pv_sessions

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def other_role(role: Role) -> Principal:
    with session_scope() as db:
        user = User(email=f"{role.value}@example.test", role=role)
        db.add(user)
        db.flush()
        return Principal.of(user)


async def test_only_the_owner_sees_and_disconnects_an_account(database: str) -> None:
    harness = HARNESSES["solaredge"]
    with harness.make_fake() as fake:
        owner = make_driver("owner@example.test")
        intruder = make_driver("intruder@example.test", fleet_slug="other-fleet")
        account_id = await couple(harness, fake, owner)
        await poll_pv_account(account_id, clock=fake.clock.now, base_url=fake.base_url)
    with session_scope() as db:
        [mine] = pv_connections.list_connections(db, owner)
        assert mine["id"] == str(account_id) and mine["status"] == "connected"
        assert mine["wallboxes"].endswith(harness.wallbox(fake).serial)
        assert pv_connections.list_connections(db, intruder) == []
        with pytest.raises(NotFound):
            pv_connections.disconnect(db, intruder, account_id)
        for role in (Role.FLEET_MANAGER, Role.OPERATOR, Role.ADMIN):
            with pytest.raises(Forbidden):
                pv_connections.list_connections(db, other_role(role))
    with session_scope() as db:
        assert db.get(PvAccount, account_id) is not None, "the intruder's attempt changed nothing"


async def test_disconnect_deletes_credentials_chargers_snapshots_but_keeps_sessions(database: str) -> None:
    harness = HARNESSES["solaredge"]
    with harness.make_fake() as fake:
        owner = make_driver()
        account_id = await couple(harness, fake, owner)
        wallbox = harness.wallbox(fake)
        for power in (0, 7_400, 7_400, 0, 0):
            if power:
                wallbox.start(power)
            else:
                wallbox.stop()
            wallbox.advance(1800)
            await poll_pv_account(account_id, clock=fake.clock.now, base_url=fake.base_url)
    assert len(pv_sessions()) == 1
    with session_scope() as db:
        assert pv_connections.disconnect(db, owner, account_id) == "solaredge"
    with session_scope() as db:
        assert db.get(PvAccount, account_id) is None
        assert db.exec(select(PvWallbox).where(PvWallbox.account_id == account_id)).all() == []
        assert db.exec(select(PvSnapshot).where(PvSnapshot.account_id == account_id)).all() == []
    assert len(pv_sessions()) == 1, "history stays; only the coupling is gone"


async def test_coupling_a_brand_again_updates_the_account_and_keeps_resume_points(database: str) -> None:
    harness = HARNESSES["solaredge"]
    with harness.make_fake() as fake:
        owner = make_driver()
        first = await couple(harness, fake, owner)
        harness.wallbox(fake).advance(1800)
        await poll_pv_account(first, clock=fake.clock.now, base_url=fake.base_url)
        with session_scope() as db:
            resume = db.exec(select(PvWallbox.resume_from_utc).where(PvWallbox.account_id == first)).one()
        assert resume is not None
        second = await couple(harness, fake, owner)
    assert second == first
    with session_scope() as db:
        row = db.get(PvAccount, first)
        assert row is not None and row.status == "pending" and row.failures == 0
        assert decrypt_credentials(row.credentials_enc or "") == {"api_key": API_KEY}
        assert db.exec(select(PvWallbox.resume_from_utc).where(PvWallbox.account_id == first)).one() == resume


def test_the_form_accepts_only_the_brands_declared_fields(database: str) -> None:
    assert pv_connections.clean_credentials(
        "solaredge", {"api_key": "  KEY  ", "appkey": "x", "base_url": "y"}
    ) == {"api_key": "KEY"}
    assert pv_connections.clean_credentials(
        "sungrow", {"user_account": "a", "user_password": "b", "appkey": "evil"}
    ) == {
        "user_account": "a",
        "user_password": "b",
    }
    with pytest.raises(InvalidInput) as missing:
        pv_connections.clean_credentials("fronius", {"access_key_id": "id"})
    assert missing.value.message == "Access key value"
    enphase = next(b for b in pv_connections.brand_choices() if b["brand"] == "enphase")
    assert enphase["auth_kind"] == "oauth2" and enphase["fields"] == []
    assert {b["brand"] for b in pv_connections.brand_choices()} == set(HARNESSES)


def test_oauth_state_is_bound_to_driver_session_brand_and_time(database: str) -> None:
    owner = make_driver("owner@example.test")
    other = make_driver("other@example.test")
    with session_scope() as db:
        state = pv_connections.make_oauth_state(db, owner, "session-token-A", "enphase", now=NOW)
        assert pv_connections.check_oauth_state(db, owner, "session-token-A", state, now=NOW) == "enphase"
        bad = [
            (owner, "session-token-B", state, NOW),  # same driver, another browser session
            (other, "session-token-A", state, NOW),  # another driver
            (owner, "session-token-A", state, NOW + timedelta(minutes=16)),  # expired
            (owner, "session-token-A", state[:-2] + "xx", NOW),  # tampered signature
            (owner, "session-token-A", "e30." + state.split(".")[1], NOW),  # swapped payload
            (owner, "session-token-A", "", NOW),
        ]
        for principal, token, candidate, when in bad:
            with pytest.raises(InvalidInput):
                pv_connections.check_oauth_state(db, principal, token, candidate, now=when)
        with pytest.raises(InvalidInput):
            pv_connections.make_oauth_state(db, owner, "session-token-A", "solaredge")  # not an OAuth brand
        with pytest.raises(Forbidden):
            pv_connections.make_oauth_state(db, other_role(Role.FLEET_MANAGER), "t", "enphase")
    assert pv_connections.redirect_uri().endswith("/driver/pv/callback")


async def test_enphase_code_exchange_couples_and_the_first_poll_imports_history(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the callback handler does, minus the browser: exchange, live test, save, poll."""
    from pipelet_app.db import reset_engine
    from pipelet_app.inverters.enphase import EnphaseAdapter
    from pipelet_app.inverters.service import connect
    from tests.fakes.inverters import enphase

    with enphase.EnphaseFake() as fake:
        for _ in range(3):
            fake.wallbox.charge(minutes=60, power_w=7_400)
            fake.wallbox.advance(4 * 3600)
        for name, value in (
            ("ENPHASE_API_BASE", fake.base_url),
            ("ENPHASE_API_KEY", enphase.API_KEY),
            ("ENPHASE_CLIENT_ID", enphase.CLIENT_ID),
            ("ENPHASE_CLIENT_SECRET", enphase.CLIENT_SECRET),
        ):
            monkeypatch.setenv(name, value)
        reset_engine()
        owner = make_driver()
        code = fake.issue_code(pv_connections.redirect_uri())
        credentials = await EnphaseAdapter.exchange_code(
            code, redirect_uri=pv_connections.redirect_uri(), clock=fake.clock.now
        )
        assert set(credentials) == {"access_token", "refresh_token", "expires_at"}, (
            "app secrets stay in settings"
        )
        result = await connect("enphase", credentials, clock=fake.clock.now)
        with session_scope() as db:
            account_id = pv_connections.save_connection(db, owner, "enphase", result, now=fake.clock.now())
        report = await poll_pv_account(account_id, clock=fake.clock.now)
    assert report is not None and report.status == "connected"
    assert len(pv_sessions()) == 3 and {s.reason for s in pv_sessions()} == {"pv-native"}


async def test_poll_logs_never_contain_credentials(database: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = []
    for brand in ("huawei", "sungrow", "enphase", "solaredge"):
        harness = HARNESSES[brand]
        with harness.make_fake() as fake:
            good = harness.good_credentials(fake)
            secrets += [v for v in good.values() if isinstance(v, str) and len(v) >= 6]
            account_id = await couple(harness, fake, make_driver(f"{brand}@example.test"))
            for fault in ("throttle", "500", "html", None):
                if fault:
                    fake.inject(fault)
                fake.clock.advance(1800)
                await poll_pv_account(account_id, clock=fake.clock.now, base_url=fake.base_url)
    text = caplog.text
    assert "pv account" in text
    for secret in secrets:
        assert secret not in text


async def test_key_rotation_completes_by_polling_and_a_lost_key_asks_to_reconnect(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelet_app.db import reset_engine
    from pipelet_app.inverters.credentials import CredentialKeyError

    harness = HARNESSES["solaredge"]
    with harness.make_fake() as fake:
        account_id = await couple(harness, fake, make_driver())  # encrypted under the test key
        with session_scope() as db:
            old_token = db.get(PvAccount, account_id).credentials_enc  # type: ignore[union-attr]
        old_key = os.environ["PIPELET_SECRET_KEY"]
        monkeypatch.setenv("PIPELET_SECRET_KEY", "a-brand-new-key")
        monkeypatch.setenv("PIPELET_SECRET_KEY_PREVIOUS", old_key)
        reset_engine()
        report = await poll_pv_account(account_id, clock=fake.clock.now, base_url=fake.base_url)
        assert report is not None and report.status == "connected"
        with session_scope() as db:
            token = db.get(PvAccount, account_id).credentials_enc  # type: ignore[union-attr]
        assert token != old_token
        assert decrypt_credentials(token or "", keys=["a-brand-new-key"]) == {"api_key": API_KEY}

        monkeypatch.setenv("PIPELET_SECRET_KEY", "yet-another-key")  # the operator lost every old key
        monkeypatch.delenv("PIPELET_SECRET_KEY_PREVIOUS")
        reset_engine()
        with pytest.raises(CredentialKeyError):
            decrypt_credentials(token or "")
        fake.clock.advance(3600)
        assert await poll_pv_account(account_id, clock=fake.clock.now, base_url=fake.base_url) is None
    with session_scope() as db:
        row = db.get(PvAccount, account_id)
        assert row is not None and row.status == "reauth-needed" and row.next_poll_utc is None
        assert "couple the inverter again" in (row.message or "")


def test_a_typed_manager_address_may_not_point_into_pipelets_network(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = {"username": "installer", "password": "pw"}
    for url in (
        "http://127.0.0.1:5432",
        "http://localhost/",
        "http://169.254.169.254/latest",
        "ftp://x",
        "http://10.0.0.5",
    ):
        with pytest.raises(InvalidInput):
            pv_connections.clean_credentials("solarwatt", {**form, "manager_url": url})
    assert pv_connections.clean_credentials(
        "solarwatt", {**form, "manager_url": "http://93.184.215.14:8443"}
    ) == {
        **form,
        "manager_url": "http://93.184.215.14:8443",
    }
    monkeypatch.setenv("PV_ALLOW_PRIVATE_URLS", "1")
    from pipelet_app.settings import get_settings

    get_settings.cache_clear()
    assert pv_connections.clean_credentials("solarwatt", {**form, "manager_url": "http://192.168.1.20"})[
        "manager_url"
    ]
