"""The admin page: tenants to invite into, and the invitations still open."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from pipelet_app.auth import InvalidInput, Principal, require
from pipelet_app.auth.invitations import create_invitation, invitation_link, mail_invitation
from pipelet_app.clock import utcnow
from pipelet_app.db.models import Invitation, Role, Spv, SpvPartner, Tenant
from pipelet_app.portals.formatting import when

log = logging.getLogger(__name__)


def admin_overview(db: Session, principal: Principal) -> dict:
    require(principal, Role.ADMIN)
    tenants = db.exec(select(Tenant).order_by(Tenant.name)).all()
    invitations = db.exec(
        select(Invitation)
        .where(Invitation.used_at.is_(None), Invitation.expires_at > utcnow())
        .order_by(Invitation.created_at.desc())
    ).all()
    tenant_names = {t.id: t.name for t in tenants}
    partners = db.exec(
        select(SpvPartner, Spv)
        .join(Spv, Spv.id == SpvPartner.spv_id)
        .where(SpvPartner.user_id.is_(None))
        .order_by(Spv.name, SpvPartner.name)
    ).all()
    return {
        "tenants": [{"id": str(t.id), "label": f"{t.name} ({t.kind})"} for t in tenants],
        "partners": [{"id": str(p.id), "label": f"{spv.name}: {p.name}"} for p, spv in partners],
        "invitations": [
            {
                "email": i.email,
                "role": str(i.role),
                "tenant": tenant_names.get(i.tenant_id, "—"),
                "expires": when(i.expires_at),
            }
            for i in invitations
        ],
    }


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
