"""The admin page's lists as text; the queries and rules are `services.admin`'s."""

from __future__ import annotations

from pipelet_app.auth import Principal
from pipelet_app.i18n.formatting import when
from pipelet_app.services import admin
from pipelet_app.services.session import Session


def admin_overview(db: Session, principal: Principal) -> dict:
    data = admin.admin_overview(db, principal)
    tenant_names = {t.id: t.name for t in data.tenants}
    return {
        # `kind` lets the form offer only the tenants the chosen role can belong to
        "tenants": [{"id": str(t.id), "name": t.name, "kind": str(t.kind)} for t in data.tenants],
        "users": [
            {
                "email": u.email,
                "name": u.name or "—",
                "role": str(u.role),
                "tenant": tenant_names.get(u.tenant_id, "—"),
                "active": "1" if u.is_active else "",
                "since": when(u.created_at),
            }
            for u in data.users
        ],
        "partners": [{"id": str(p.id), "label": f"{spv.name}: {p.name}"} for p, spv in data.partners],
        "invitations": [
            {
                "id": str(i.id),
                "email": i.email,
                "role": str(i.role),
                "tenant": tenant_names.get(i.tenant_id, "—"),
                "expires": when(i.expires_at),
            }
            for i in data.invitations
        ],
    }
