"""Admin: the user list, and invitations revoked or sent again (only by an administrator)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from pipelet_app.auth import Forbidden, NotFound
from pipelet_app.auth.invitations import InvitationError, find_open_invitation
from pipelet_app.db import session_scope
from pipelet_app.db.models import AuditEvent, Invitation, Tenant
from pipelet_app.portals.admin.data import admin_overview
from pipelet_app.services.admin import (
    invite,
    resend_invitation,
    revoke_invitation,
    tenant_kind_for,
)
from tests.integration.api.charger_facts import principal


def _invite(email: str) -> tuple[str, str]:
    with session_scope() as db:
        fleet = db.exec(select(Tenant).where(Tenant.kind == "fleet")).first()
        link = invite(db, principal("admin@pipelet.demo"), email, "driver", str(fleet.id), "New Person")
        invitation = db.exec(select(Invitation).where(Invitation.email == email)).one()
        return str(invitation.id), link.rsplit("/", 1)[1]


def test_users_and_tenant_kinds_for_the_form(demo: dict) -> None:
    with session_scope() as db:
        view = admin_overview(db, principal("admin@pipelet.demo"))
        with pytest.raises(Forbidden):
            admin_overview(db, principal("operator@sonnenstrom.demo"))
    emails = {u["email"]: u["role"] for u in view["users"]}
    assert emails["driver@acme.demo"] == "driver" and emails["admin@pipelet.demo"] == "admin"
    assert {t["kind"] for t in view["tenants"]} == {"fleet", "operator"}
    assert (tenant_kind_for("driver"), tenant_kind_for("operator"), tenant_kind_for("admin")) == (
        "fleet",
        "operator",
        "",
    )
    assert tenant_kind_for("nonsense") == ""


def test_revoke_stops_the_link_and_is_audited(demo: dict) -> None:
    invitation_id, token = _invite("revoke-me@acme.demo")
    with session_scope() as db, pytest.raises(Forbidden):
        revoke_invitation(db, principal("fleet@acme.demo"), invitation_id)
    with session_scope() as db:
        revoke_invitation(db, principal("admin@pipelet.demo"), invitation_id)
    with session_scope() as db:
        with pytest.raises(InvitationError):
            find_open_invitation(db, token)
        assert db.exec(select(AuditEvent).where(AuditEvent.action == "invitation.revoke")).first() is not None
        assert "revoke-me@acme.demo" not in repr(
            admin_overview(db, principal("admin@pipelet.demo"))["invitations"]
        )
    with session_scope() as db, pytest.raises(NotFound):  # revoked: nothing to revoke or resend any more
        resend_invitation(db, principal("admin@pipelet.demo"), invitation_id)


def test_resend_gives_a_new_link_and_the_old_one_stops(demo: dict) -> None:
    invitation_id, old = _invite("resend-me@acme.demo")
    with session_scope() as db, pytest.raises(Forbidden):
        resend_invitation(db, principal("driver@acme.demo"), invitation_id)
    with session_scope() as db:
        link = resend_invitation(db, principal("admin@pipelet.demo"), invitation_id)
    new = link.rsplit("/", 1)[1]
    assert new != old
    with session_scope() as db:
        assert find_open_invitation(db, new).email == "resend-me@acme.demo"
        with pytest.raises(InvitationError):
            find_open_invitation(db, old)
