"""The one check every state handler and API route makes: is this caller allowed, in this tenant?

Handlers call `require(principal, Role.X, ...)` before reading anything, and scope every query to
`principal.tenant_id`. Objects of another tenant raise NotFound, never Forbidden, so a caller cannot
probe which ids exist.
"""

from __future__ import annotations

from pipelet_app.auth.errors import Forbidden, NotFound
from pipelet_app.auth.principal import Principal
from pipelet_app.db.models import Role

HOME_BY_ROLE: dict[Role, str] = {
    Role.DRIVER: "/driver",
    Role.FLEET_MANAGER: "/fleet",
    Role.OPERATOR: "/operator",
    Role.INVESTOR: "/investor",
    Role.ADMIN: "/admin",
}


def require(principal: Principal, *roles: Role) -> Principal:
    if principal.role not in roles:
        raise Forbidden("Your role may not open this page or data.")
    return principal


def require_tenant(principal: Principal, tenant_id: int | None) -> None:
    """Raise NotFound unless the object belongs to the caller's tenant."""
    if tenant_id is None or principal.tenant_id != tenant_id:
        raise NotFound("Not found.")


def home_path(role: Role | str) -> str:
    return HOME_BY_ROLE[Role(role)]
