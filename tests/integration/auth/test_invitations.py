"""Invitations: who may invite whom, single use, expiry, and nothing half-written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from pipelet_app.api import build_api
from pipelet_app.auth import Forbidden, Principal
from pipelet_app.auth import sessions as auth
from pipelet_app.auth.invitations import InvitationError, accept_invitation, create_invitation
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Driver, Invitation, Role, Tenant, User


def _principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


def _tenant(slug: str) -> int:
    with session_scope() as db:
        return db.exec(select(Tenant).where(Tenant.slug == slug)).one().id


def test_invited_driver_can_sign_in_once(demo: dict) -> None:
    admin = _principal("admin@pipelet.demo")
    with session_scope() as db:
        token = create_invitation(db, admin, "New.Driver@acme.demo", Role.DRIVER, _tenant("acme"), "Nia New")
    with session_scope() as db:
        user = accept_invitation(db, token, "a-good-password")
    assert user.role == Role.DRIVER and user.email == "new.driver@acme.demo"
    with session_scope() as db:
        assert db.exec(select(Driver).where(Driver.user_id == user.id)).one().fleet_id == _tenant("acme")
        assert auth.resolve(db, auth.login(db, "new.driver@acme.demo", "a-good-password")).name == "Nia New"
    with session_scope() as db, pytest.raises(InvitationError, match="already been used"):
        accept_invitation(db, token, "another-password")


def test_expired_invitation_creates_nothing(demo: dict) -> None:
    admin = _principal("admin@pipelet.demo")
    with session_scope() as db:
        token = create_invitation(db, admin, "late@acme.demo", Role.DRIVER, _tenant("acme"))
        invitation = db.exec(select(Invitation)).one()
        invitation.expires_at = utcnow() - timedelta(seconds=1)
        db.add(invitation)
    with session_scope() as db, pytest.raises(InvitationError, match="expired"):
        accept_invitation(db, token, "a-good-password")
    with session_scope() as db:
        assert (
            db.exec(select(func.count()).select_from(User).where(User.email == "late@acme.demo")).one() == 0
        )


def test_weak_password_leaves_invitation_open(demo: dict) -> None:
    admin = _principal("admin@pipelet.demo")
    with session_scope() as db:
        token = create_invitation(db, admin, "weak@acme.demo", Role.DRIVER, _tenant("acme"))
    with session_scope() as db, pytest.raises(InvitationError, match="password: must be at least"):
        accept_invitation(db, token, "short")
    with session_scope() as db:
        assert db.exec(select(Invitation)).one().used_at is None
        assert db.exec(select(User).where(User.email == "weak@acme.demo")).first() is None
    with session_scope() as db:
        accept_invitation(db, token, "now-long-enough")


def test_fleet_manager_invites_drivers_only_into_own_fleet(demo: dict) -> None:
    manager = _principal("fleet@acme.demo")
    with session_scope() as db:
        assert create_invitation(db, manager, "d2@acme.demo", Role.DRIVER, _tenant("acme"))
    with session_scope() as db, pytest.raises(Forbidden):
        create_invitation(db, manager, "d3@globex.demo", Role.DRIVER, _tenant("globex"))
    with session_scope() as db, pytest.raises(Forbidden):
        create_invitation(db, manager, "op@acme.demo", Role.OPERATOR, _tenant("sonnenstrom"))
    driver = _principal("driver@acme.demo")
    with session_scope() as db, pytest.raises(Forbidden):
        create_invitation(db, driver, "friend@acme.demo", Role.DRIVER, _tenant("acme"))


def test_role_needs_matching_tenant_kind(demo: dict) -> None:
    admin = _principal("admin@pipelet.demo")
    with session_scope() as db, pytest.raises(InvitationError, match="tenant: a driver needs a fleet tenant"):
        create_invitation(db, admin, "x@y.demo", Role.DRIVER, _tenant("sonnenstrom"))
    with session_scope() as db, pytest.raises(InvitationError, match="email: a user with this e-mail"):
        create_invitation(db, admin, "driver@acme.demo", Role.DRIVER, _tenant("acme"))


def _partner(name: str):
    from pipelet_app.db.models import SpvPartner

    with session_scope() as db:
        return db.exec(select(SpvPartner).where(SpvPartner.name == name)).one()


def test_investor_invitation_links_the_login_to_its_partner(demo: dict) -> None:
    from pipelet_app.services.investors import investor_overview

    gp = _partner("Sonnenstrom Betrieb GmbH")
    operator = _principal("operator@sonnenstrom.demo")
    with session_scope() as db:
        token = create_invitation(
            db, operator, "gp@sonnenstrom.demo", Role.INVESTOR, _tenant("sonnenstrom"), spv_partner_id=gp.id
        )
    with session_scope() as db:
        user = accept_invitation(db, token, "a-good-password")
    assert _partner("Sonnenstrom Betrieb GmbH").user_id == user.id
    with session_scope() as db:
        rows = investor_overview(db, Principal.of(user))["partnerships"]
    assert [r["partner"] for r in rows] == ["Sonnenstrom Betrieb GmbH"]


def test_investor_invitation_needs_an_unlinked_partner_of_the_tenant(demo: dict) -> None:
    admin = _principal("admin@pipelet.demo")
    gp, linked = _partner("Sonnenstrom Betrieb GmbH"), _partner("Evergreen Tax Equity LLC")
    cases = [
        (None, _tenant("sonnenstrom"), "spv_partner: choose the SPV partner"),
        (linked.id, _tenant("sonnenstrom"), "spv_partner: this partner already has a login"),
        (gp.id, _tenant("northwind"), "spv_partner: no such partner in an SPV of this tenant"),
    ]
    for partner_id, tenant_id, message in cases:
        with session_scope() as db, pytest.raises(InvitationError, match=message):
            create_invitation(db, admin, "x@inv.demo", Role.INVESTOR, tenant_id, spv_partner_id=partner_id)
    with session_scope() as db, pytest.raises(InvitationError, match="only investors"):
        create_invitation(db, admin, "x@acme.demo", Role.DRIVER, _tenant("acme"), spv_partner_id=gp.id)


def test_two_invitations_for_one_partner_only_the_first_links(demo: dict) -> None:
    gp = _partner("Sonnenstrom Betrieb GmbH")
    admin = _principal("admin@pipelet.demo")
    with session_scope() as db:
        first = create_invitation(
            db, admin, "a@inv.demo", Role.INVESTOR, _tenant("sonnenstrom"), spv_partner_id=gp.id
        )
        second = create_invitation(
            db, admin, "b@inv.demo", Role.INVESTOR, _tenant("sonnenstrom"), spv_partner_id=gp.id
        )
    with session_scope() as db:
        accept_invitation(db, first, "a-good-password")
    with session_scope() as db, pytest.raises(InvitationError, match="already has a login"):
        accept_invitation(db, second, "a-good-password")
    with session_scope() as db:
        assert db.exec(select(User).where(User.email == "b@inv.demo")).first() is None, "nothing half-written"


def test_invitation_link_is_mailed_when_smtp_is_configured(demo: dict, smtp_inbox) -> None:
    from pipelet_app.services.admin import invite

    link = None
    with session_scope() as db:
        link = invite(
            db, _principal("admin@pipelet.demo"), "mailed@acme.demo", "driver", str(_tenant("acme"))
        )
    [(recipients, content)] = smtp_inbox.messages
    assert recipients == ["mailed@acme.demo"] and "Subject: Your Pipelet invitation" in content
    assert link in content
    token = link.rsplit("/", 1)[1]
    with session_scope() as db:
        assert accept_invitation(db, token, "a-good-password").email == "mailed@acme.demo"


def test_invitation_stands_when_the_mail_server_is_down(demo: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelet_app.services.admin import invite
    from pipelet_app.settings import get_settings
    from tests.pipelet_process import free_port

    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    with session_scope() as db:
        link = invite(
            db, _principal("admin@pipelet.demo"), "unmailed@acme.demo", "driver", str(_tenant("acme"))
        )
    assert "/invite/" in link
    with session_scope() as db:
        assert (
            db.exec(select(Invitation).where(Invitation.email == "unmailed@acme.demo")).one().used_at is None
        )


def test_the_invitation_form_posts_to_the_route_and_the_password_never_passes_an_event(demo: dict) -> None:
    """`POST /auth/invitations/{token}`: a short password comes back as a code, a good one creates the
    account (303 back to the page with done=1), and the link is then used."""
    with session_scope() as db:
        admin = Principal.of(db.exec(select(User).where(User.email == "admin@pipelet.demo")).one())
        acme = db.exec(select(Tenant).where(Tenant.slug.contains("acme"))).first()  # type: ignore[attr-defined]
        assert acme is not None
        token = create_invitation(db, admin, "route-invitee@acme.demo", Role.DRIVER, acme.id)
    with TestClient(build_api(), raise_server_exceptions=False) as client:
        short = client.post(f"/auth/invitations/{token}", data={"password": "short"}, follow_redirects=False)
        assert short.status_code == 303 and short.headers["location"] == f"/invite/{token}?error=password"
        done = client.post(
            f"/auth/invitations/{token}", data={"name": "Rita Route", "password": "long-enough-secret"},
            follow_redirects=False,
        )  # fmt: skip
        assert done.status_code == 303 and done.headers["location"] == f"/invite/{token}?done=1"
        again = client.post(f"/auth/invitations/{token}", json={"password": "long-enough-secret"})
        assert again.status_code == 422 and "already been used" in again.json()["error"]["message"]
        signed_in = client.post(
            "/auth/login", json={"email": "route-invitee@acme.demo", "password": "long-enough-secret"}
        )
        assert signed_in.status_code == 200 and signed_in.json() == {"home": "/driver"}
