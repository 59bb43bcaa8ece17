"""Invitations: an expiring, single-use link that creates the account and sets its password."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from pipelet_app import audit
from pipelet_app.auth.errors import Forbidden, InvalidInput
from pipelet_app.auth.principal import Principal
from pipelet_app.auth.secrets import hash_password, hash_token, new_token, password_problem
from pipelet_app.clock import utcnow
from pipelet_app.db.models import Driver, Invitation, Role, Spv, SpvPartner, Tenant, TenantKind, User
from pipelet_app.notify.mail import MailNotConfigured, send_mail
from pipelet_app.settings import get_settings

# Which tenant kind each invited role belongs to (None: no tenant).
TENANT_KIND_FOR_ROLE: dict[Role, TenantKind | None] = {
    Role.DRIVER: TenantKind.FLEET,
    Role.FLEET_MANAGER: TenantKind.FLEET,
    Role.OPERATOR: TenantKind.OPERATOR,
    Role.INVESTOR: TenantKind.OPERATOR,
    Role.ADMIN: None,
}


class InvitationError(InvalidInput):
    pass


def _check_inviter(db: Session, inviter: Principal, role: Role, tenant_id: int | None) -> None:
    """Admins invite anyone anywhere; fleet managers invite drivers, operators invite operators and investors,
    each only into their own tenant."""
    expected_kind = TENANT_KIND_FOR_ROLE[role]
    if expected_kind is None:
        if tenant_id is not None:
            raise InvitationError("tenant: an admin belongs to no tenant")
    else:
        tenant = db.get(Tenant, tenant_id) if tenant_id is not None else None
        if tenant is None or tenant.kind != expected_kind:
            raise InvitationError(f"tenant: a {role.value} needs a {expected_kind.value} tenant")
    if inviter.role == Role.ADMIN:
        return
    allowed = {Role.FLEET_MANAGER: {Role.DRIVER}, Role.OPERATOR: {Role.INVESTOR, Role.OPERATOR}}
    if role not in allowed.get(inviter.role, set()) or tenant_id != inviter.tenant_id:
        raise Forbidden("You may not invite this role into this tenant.")


def _check_partner(db: Session, role: Role, tenant_id: int | None, spv_partner_id: int | None) -> None:
    """An investor is invited for one partner of an SPV the tenant sponsors, not yet linked to a login."""
    if role != Role.INVESTOR:
        if spv_partner_id is not None:
            raise InvitationError("spv_partner: only investors act for an SPV partner")
        return
    if spv_partner_id is None:
        raise InvitationError("spv_partner: choose the SPV partner this investor acts for")
    partner = db.get(SpvPartner, spv_partner_id)
    spv = db.get(Spv, partner.spv_id) if partner else None
    if partner is None or spv is None or spv.sponsor_tenant_id != tenant_id:
        raise InvitationError("spv_partner: no such partner in an SPV of this tenant")
    if partner.user_id is not None:
        raise InvitationError("spv_partner: this partner already has a login")


def create_invitation(
    db: Session,
    inviter: Principal,
    email: str,
    role: Role,
    tenant_id: int | None,
    name: str = "",
    spv_partner_id: int | None = None,
) -> str:
    """Returns the invitation token (for the link); only its hash is stored."""
    email = email.strip().lower()
    if "@" not in email or len(email) < 3:
        raise InvitationError("email: not an e-mail address")
    _check_inviter(db, inviter, role, tenant_id)
    _check_partner(db, role, tenant_id, spv_partner_id)
    if db.exec(select(User).where(User.email == email)).first():
        raise InvitationError("email: a user with this e-mail already exists")
    token = new_token()
    audit.record(
        db,
        inviter,
        "invitation.create",
        "user",
        email,
        {"role": [None, role], "tenant_id": [None, tenant_id], "spv_partner_id": [None, spv_partner_id]},
        tenant_id=tenant_id,
    )
    db.add(
        Invitation(
            token_hash=hash_token(token),
            email=email,
            name=name.strip(),
            role=role,
            tenant_id=tenant_id,
            invited_by=inviter.user_id,
            spv_partner_id=spv_partner_id,
            expires_at=utcnow() + timedelta(hours=get_settings().invitation_ttl_hours),
        )
    )
    db.commit()
    return token


def invitation_link(token: str) -> str:
    return f"{get_settings().web_url}/invite/{token}"


def find_open_invitation(db: Session, token: str) -> Invitation:
    invitation = db.exec(select(Invitation).where(Invitation.token_hash == hash_token(token))).first()
    if invitation is None:
        raise InvitationError("This invitation link is not valid.")
    if invitation.used_at is not None:
        raise InvitationError("This invitation has already been used. Please sign in instead.")
    if invitation.expires_at <= utcnow():
        raise InvitationError("This invitation has expired. Ask for a new one.")
    return invitation


def accept_invitation(db: Session, token: str, password: str, name: str = "") -> User:
    """Create the account in one transaction: either user, driver row and used-mark all land, or none."""
    invitation = find_open_invitation(db, token)
    problem = password_problem(password)
    if problem:
        raise InvitationError(problem)
    if db.exec(select(User).where(User.email == invitation.email)).first():
        raise InvitationError("email: a user with this e-mail already exists")
    user = User(
        email=invitation.email,
        name=name.strip() or invitation.name,
        role=invitation.role,
        tenant_id=invitation.tenant_id,
        password_hash=hash_password(password),
    )
    db.add(user)
    db.flush()
    if invitation.role == Role.DRIVER:
        assert invitation.tenant_id is not None
        db.add(Driver(fleet_id=invitation.tenant_id, user_id=user.id, name=user.name, email=user.email))
    if invitation.spv_partner_id is not None:
        partner = db.get(SpvPartner, invitation.spv_partner_id)
        if partner is None or partner.user_id is not None:
            db.rollback()
            raise InvitationError("spv_partner: this partner already has a login; ask for a new invitation")
        partner.user_id = user.id
        db.add(partner)
    invitation.used_at = utcnow()
    db.add(invitation)
    audit.record(
        db,
        Principal.of(user),
        "user.create",
        "user",
        user.id or "",
        {"email": [None, user.email], "role": [None, user.role], "tenant_id": [None, user.tenant_id]},
        tenant_id=user.tenant_id,
    )
    db.commit()
    db.refresh(user)
    return user


def mail_invitation(email: str, token: str, inviter_name: str) -> bool:
    """Send the link when SMTP_URL is set; False when mail is not configured (the inviter passes it on)."""
    hours = int(get_settings().invitation_ttl_hours)
    body = (
        f"{inviter_name} invited you to Pipelet.\n\nSet your password here (the link works once, for {hours} "
        f"hours):\n{invitation_link(token)}\n"
    )
    try:
        send_mail([email], "Your Pipelet invitation", body)
    except MailNotConfigured:
        return False
    return True
