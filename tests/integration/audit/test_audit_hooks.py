"""What the audit trail records on its own: sign-ins, failures and the lock-out, API keys, invitations
and new users with their role, charger commands with their outcome; never a password, token or key."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

sys.path.insert(0, str(Path(__file__).parents[1] / "security"))

from helpers import guarded_api

from pipelet_app import audit
from pipelet_app.api.ratelimit import limiter_for
from pipelet_app.auth import Principal
from pipelet_app.auth.api_keys import create_api_key, revoke_api_key
from pipelet_app.auth.invitations import accept_invitation, create_invitation
from pipelet_app.db import session_scope
from pipelet_app.db.models import AuditEvent, Role, User
from pipelet_app.ocpp.errors import CommandError
from pipelet_app.operations import chargers as operations
from pipelet_app.settings import get_settings


@pytest.fixture
def fresh_budgets() -> Iterator[None]:
    limiter_for.cache_clear()
    get_settings.cache_clear()
    yield
    limiter_for.cache_clear()


def rows(action: str | None = None) -> list[AuditEvent]:
    with session_scope() as db:
        query = select(AuditEvent).order_by(col(AuditEvent.id))
        if action:
            query = query.where(AuditEvent.action == action)
        return list(db.exec(query))


def user(email: str) -> User:
    with session_scope() as db:
        return db.exec(select(User).where(User.email == email)).one()


def test_sign_in_failures_lockout_and_success_are_audited_without_passwords(
    demo: dict, fresh_budgets: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    attacker = TestClient(guarded_api(), raise_server_exceptions=False, client=("203.0.113.7", 4000))
    owner = TestClient(guarded_api(), raise_server_exceptions=False, client=("198.51.100.2", 4000))
    for i in range(get_settings().login_max_failures + 1):
        attacker.post("/auth/login", json={"email": "driver@acme.demo", "password": f"guess-{i}-secret"})
    assert owner.post(
        "/auth/login", json={"email": "driver@acme.demo", "password": "pipelet-driver"}
    ).is_success

    failed, locked, ok = rows("auth.login_failed"), rows("auth.lockout"), rows("auth.login")
    assert len(failed) == get_settings().login_max_failures  # the 6th is refused before any check
    assert [r.object_id for r in locked] == ["driver@acme.demo"] and locked[0].actor.endswith("203.0.113.7")
    assert len(ok) == 1 and ok[0].actor_user_id == user("driver@acme.demo").id
    assert ok[0].changes == {"address": [None, "198.51.100.2"]}
    everything = json.dumps([r.model_dump(mode="json") for r in rows()]) + caplog.text
    assert "secret" not in everything and "pipelet-driver" not in everything
    assert "sign-in locked" in caplog.text and "signed in" in caplog.text


def test_api_keys_invitations_and_roles_are_audited(demo: dict) -> None:
    admin = Principal.of(user("admin@pipelet.demo"))
    with session_scope() as db:
        operator = db.exec(select(User).where(User.email == "operator@sonnenstrom.demo")).one()
        row, key = create_api_key(db, operator, "ci")
        revoke_api_key(db, row.key_id, actor=admin)
        token = create_invitation(db, admin, "new-op@sonnenstrom.demo", Role.OPERATOR, operator.tenant_id)
    with session_scope() as db:
        created = accept_invitation(db, token, "a-long-password-1")
    made, revoked = rows("api_key.create")[-1], rows("api_key.revoke")[-1]
    assert (made.object_id, made.actor_user_id, made.tenant_id) == (
        row.key_id,
        operator.id,
        operator.tenant_id,
    )
    assert (revoked.actor, revoked.tenant_id) == ("admin@pipelet.demo", operator.tenant_id)
    invited, joined = rows("invitation.create")[-1], rows("user.create")[-1]
    assert invited.changes["role"] == [None, "operator"] and invited.actor_user_id == admin.user_id
    assert joined.object_id == str(created.id) and joined.changes["role"] == [None, "operator"]
    text = json.dumps([r.model_dump(mode="json") for r in rows()])
    assert key.split("_", 2)[2] not in text and token not in text and "a-long-password-1" not in text


async def test_charger_commands_are_audited_with_outcome_and_no_secrets(demo: dict) -> None:
    operator = Principal.of(user("operator@sonnenstrom.demo"))
    with pytest.raises(CommandError):
        await operations.command("SON-CP-001", "reset", {"type": "Soft"}, by=operator)
    with pytest.raises(CommandError):  # offline here: the row is what matters
        await operations.command(
            "SON-CP-001",
            "change-configuration",
            {"key": "AuthorizationKey", "value": "0123456789abcdef"},
            by=operator,
        )
    reset, config = rows("charger.command")[-2:]
    assert reset.changes["command"] == [None, "reset"] and reset.changes["payload"] == [
        None,
        {"type": "Soft"},
    ]
    assert reset.changes["outcome"][1] in ("ChargerOffline", "CsmsUnavailable")
    assert (reset.actor_user_id, reset.tenant_id) == (operator.user_id, operator.tenant_id)
    assert config.changes["payload"] == [None, {"fields": ["key", "value"]}]
    assert "0123456789abcdef" not in json.dumps(config.changes)


def test_record_now_never_fails_the_action(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:////proc/no/such.db")
    get_settings.cache_clear()
    assert audit.record_now(audit.Named("cli"), "test.action", "thing", 1) is False
    assert "could not be written" in caplog.text and "Traceback" in caplog.text
