"""Password reset by e-mail through the browser routes, on SQLite and PostgreSQL, with a real SMTP server
on loopback: the link arrives, works once within the hour, sets the password, lifts a lock-out and signs
the account out everywhere; asking tells nothing about which e-mails have accounts; floods are bounded."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_string
from email.policy import default

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.api import build_api
from pipelet_app.api.ratelimit import limiter_for
from pipelet_app.auth import password_reset
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import AuditEvent, AuthSession, PasswordReset
from pipelet_app.runtime.web_guard import web_guard
from pipelet_app.settings import get_settings

DRIVER = "driver@acme.demo"
LINK = re.compile(r"/reset-password/([A-Za-z0-9_\-]+)")


@pytest.fixture
def client(demo: dict) -> Iterator[TestClient]:
    limiter_for.cache_clear()
    with TestClient(web_guard(build_api()), raise_server_exceptions=False) as test_client:
        yield test_client
    limiter_for.cache_clear()


def mailed_links(inbox, to: str, count: int) -> list[str]:
    """The reset tokens mailed to `to`, once `count` mails have arrived (they are sent in the background)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        mails = [message_from_string(raw, policy=default) for rcpt, raw in inbox.messages if to in rcpt]
        bodies = [mail.get_body().get_content() for mail in mails]
        tokens = [m.group(1) for body in bodies for m in [LINK.search(body)] if m]
        if len(tokens) >= count:
            return tokens
        time.sleep(0.05)
    raise AssertionError(f"{count} reset mail(s) to {to} not received within 10 s")


def sign_in(client: TestClient, password: str) -> int:
    return client.post("/auth/login", json={"email": DRIVER, "password": password}).status_code


def test_the_link_sets_a_new_password_once_and_signs_out_everywhere(client: TestClient, smtp_inbox) -> None:
    assert sign_in(client, "pipelet-driver") == 200
    asked = client.post("/auth/password-reset", json={"email": "  Driver@ACME.demo "})
    assert asked.status_code == 202 and asked.json() == {"ok": True}
    [token] = mailed_links(smtp_inbox, DRIVER, 1)
    too_short = client.post(f"/auth/password-reset/{token}", json={"password": "short"})
    assert too_short.status_code == 422 and too_short.json()["error"]["message"].startswith("password:")
    done = client.post(f"/auth/password-reset/{token}", json={"password": "a-brand-new-secret"})
    assert done.status_code == 200, done.text
    again = client.post(f"/auth/password-reset/{token}", json={"password": "yet-another-secret"})
    assert again.status_code == 422 and again.json()["error"]["message"].startswith("token:")
    assert sign_in(client, "pipelet-driver") == 401
    assert sign_in(client, "a-brand-new-secret") == 200
    with session_scope() as db:
        sessions = db.exec(select(AuthSession).order_by(AuthSession.id)).all()
        assert len(sessions) == 2 and sessions[0].revoked_at is not None  # signed in before the reset: closed
        assert sessions[1].revoked_at is None  # the sign-in with the new password
        actions = [e.action for e in db.exec(select(AuditEvent)).all()]
        assert "auth.password_reset_requested" in actions and "auth.password_reset" in actions
        assert all("a-brand-new-secret" not in str(e.changes) for e in db.exec(select(AuditEvent)).all())


def test_asking_tells_nothing_and_mails_only_real_accounts(client: TestClient, smtp_inbox) -> None:
    known = client.post("/auth/password-reset", json={"email": DRIVER})
    unknown = client.post("/auth/password-reset", json={"email": "nobody@acme.demo"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()) == (202, {"ok": True})
    mailed_links(smtp_inbox, DRIVER, 1)
    time.sleep(0.3)
    assert [rcpt for rcpt, _ in smtp_inbox.messages] == [[DRIVER]]
    form = client.post("/auth/password-reset", data={"email": DRIVER}, follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"] == "/login?reset=sent"
    # the form mails a link too; waiting for it also keeps the teardown from stopping the SMTP server
    # mid-send (the sending thread then waited out its 20 s socket timeout)
    mailed_links(smtp_inbox, DRIVER, 2)


def test_at_most_three_open_links_per_account(client: TestClient, smtp_inbox) -> None:
    for _ in range(5):
        assert client.post("/auth/password-reset", json={"email": DRIVER}).status_code == 202
    mailed_links(smtp_inbox, DRIVER, 3)
    time.sleep(0.3)
    assert len(smtp_inbox.messages) == 3
    with session_scope() as db:
        assert len(db.exec(select(PasswordReset)).all()) == 3


@pytest.mark.dates
def test_a_link_expires_after_an_hour(client: TestClient, smtp_inbox) -> None:
    client.post("/auth/password-reset", json={"email": DRIVER})
    [token] = mailed_links(smtp_inbox, DRIVER, 1)
    with time_machine.travel(utcnow() + password_reset.VALID_FOR + timedelta(seconds=1), tick=True):
        late = client.post(f"/auth/password-reset/{token}", json={"password": "a-brand-new-secret"})
    assert late.status_code == 422 and late.json()["error"]["message"].startswith("token:")
    assert sign_in(client, "pipelet-driver") == 200


def test_a_forged_or_oversized_token_is_refused(client: TestClient, smtp_inbox) -> None:
    for token in ("not-a-token", "x" * 5000):
        answer = client.post(f"/auth/password-reset/{token}", json={"password": "a-brand-new-secret"})
        assert answer.status_code == 422 and answer.json()["error"]["message"].startswith("token:")
    form = client.post(
        "/auth/password-reset/nope", data={"password": "a-brand-new-secret"}, follow_redirects=False
    )
    assert form.status_code == 303 and form.headers["location"] == "/reset-password/nope?error=token"


def test_without_smtp_the_page_says_so(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMTP_URL", raising=False)
    get_settings.cache_clear()
    answer = client.post("/auth/password-reset", json={"email": DRIVER})
    assert answer.status_code == 503 and "SMTP_URL" in answer.json()["error"]["message"]
