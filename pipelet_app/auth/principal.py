"""The signed-in caller, as every handler and API route sees it."""

from __future__ import annotations

from dataclasses import dataclass

from pipelet_app.db.models import Role, User


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    name: str
    role: Role
    tenant_id: int | None
    locale: str = "en"

    @classmethod
    def of(cls, user: User) -> Principal:
        assert user.id is not None
        return cls(
            user_id=user.id,
            email=user.email,
            name=user.name,
            role=Role(user.role),
            tenant_id=user.tenant_id,
            locale=user.locale,
        )
