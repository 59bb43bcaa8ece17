"""Administration: tenants to invite into, users, open invitations (create, revoke, resend); admins only."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, select

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, NotFound, Principal, require
from pipelet_app.auth.invitations import (
    TENANT_KIND_FOR_ROLE,
    create_invitation,
    invitation_link,
    mail_invitation,
)
from pipelet_app.auth.secrets import hash_token, new_token
from pipelet_app.clock import utcnow
from pipelet_app.db.models import Invitation, Role, Spv, SpvPartner, Tenant, User
from pipelet_app.settings import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdminOverview:
    tenants: list[Tenant]  # by name
    users: list[User]  # by role, then e-mail
    partners: list[tuple[SpvPartner, Spv]]  # SPV partners no user has claimed yet (investor invitations)
    invitations: list[Invitation]  # still open, newest first


def admin_overview(db: Session, principal: Principal) -> AdminOverview:
    """Everything the admin page lists; admins only."""
    require(principal, Role.ADMIN)
    tenants = db.exec(select(Tenant).order_by(Tenant.name)).all()
    invitations = db.exec(
        select(Invitation)
        .where(Invitation.used_at.is_(None), Invitation.expires_at > utcnow())
        .order_by(Invitation.created_at.desc())
    ).all()
    partners = db.exec(
        select(SpvPartner, Spv)
        .join(Spv, Spv.id == SpvPartner.spv_id)
        .where(SpvPartner.user_id.is_(None))
        .order_by(Spv.name, SpvPartner.name)
    ).all()
    users = db.exec(select(User).order_by(User.role, User.email)).all()
    return AdminOverview(list(tenants), list(users), [(p, spv) for p, spv in partners], list(invitations))


def invite(
    db: Session,
    principal: Principal,
    email: str,
    role: str,
    tenant_id: str,
    name: str = "",
    spv_partner: str = "",
) -> str:
    """Create an invitation from form input and return its link; an investor's tenant is the SPV's sponsor."""
    require(principal, Role.ADMIN)
    try:
        role_value = Role(role)
    except ValueError:
        raise InvalidInput("role: choose one of " + ", ".join(r.value for r in Role)) from None
    tenant = int(tenant_id) if tenant_id.strip().isdigit() else None
    partner_id = int(spv_partner) if spv_partner.strip().isdigit() else None
    if partner_id is not None and tenant is None:
        partner = db.get(SpvPartner, partner_id)
        spv = db.get(Spv, partner.spv_id) if partner else None
        tenant = spv.sponsor_tenant_id if spv else None
    token = create_invitation(db, principal, email, role_value, tenant, name, spv_partner_id=partner_id)
    try:
        mail_invitation(email.strip().lower(), token, principal.name or principal.email)
    except OSError as exc:  # the invitation stands; the admin passes the link on by hand
        log.warning("invitation mail to %s failed: %s", email, type(exc).__name__)
    return invitation_link(token)


def tenant_kind_for(role: str) -> str:
    """The tenant kind a role belongs to ("" for admins and unknown roles): the form's tenant filter."""
    try:
        kind = TENANT_KIND_FOR_ROLE[Role(role)]
    except ValueError:
        return ""
    return "" if kind is None else str(kind)


def _open_invitation(db: Session, invitation_id: str) -> Invitation:
    invitation = db.get(Invitation, int(invitation_id)) if invitation_id.strip().isdigit() else None
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= utcnow():
        raise NotFound("This invitation is no longer open.")
    return invitation


def revoke_invitation(db: Session, principal: Principal, invitation_id: str) -> None:
    """The link stops working now (it expires this instant); audited. Used ones cannot be revoked."""
    require(principal, Role.ADMIN)
    invitation = _open_invitation(db, invitation_id)
    invitation.expires_at = utcnow()
    db.add(invitation)
    audit.record(
        db, principal, "invitation.revoke", "invitation", invitation.id or 0, {"email": invitation.email}
    )
    db.commit()


def resend_invitation(db: Session, principal: Principal, invitation_id: str) -> str:
    """A new link for the same invitation (the old one stops working), valid for the full period again,
    mailed when SMTP is set; returns the link to show once."""
    require(principal, Role.ADMIN)
    invitation = _open_invitation(db, invitation_id)
    token = new_token()
    invitation.token_hash = hash_token(token)
    invitation.expires_at = utcnow() + timedelta(hours=get_settings().invitation_ttl_hours)
    db.add(invitation)
    audit.record(
        db, principal, "invitation.resend", "invitation", invitation.id or 0, {"email": invitation.email}
    )
    db.commit()
    try:
        mail_invitation(invitation.email, token, principal.name or principal.email)
    except OSError as exc:  # the new link stands; the admin passes it on by hand
        log.warning("invitation mail to %s failed: %s", invitation.email, type(exc).__name__)
    return invitation_link(token)


def public_url_missing() -> bool:
    """Invitation links (and their e-mails) are built from PUBLIC_URL; without it they name localhost."""
    return not get_settings().public_url
