"""Logins, their server-side sessions, invitations and API keys.

Secrets (passwords, session tokens, invitation tokens, API key secrets) are never stored: only their
hashes. Session and invitation tokens are high-entropy random strings, so a fast SHA-256 is enough for
them; passwords get argon2.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from pipelet_app.clock import utcnow
from pipelet_app.db.types import UTCDateTime, str_enum


class Role(StrEnum):
    DRIVER = "driver"
    FLEET_MANAGER = "fleet_manager"
    OPERATOR = "operator"
    INVESTOR = "investor"
    ADMIN = "admin"


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True)
    name: str = ""
    role: Role = Field(sa_type=str_enum(Role))
    tenant_id: int | None = Field(default=None, foreign_key="tenants.id", index=True)
    password_hash: str | None = None
    locale: str = "en"
    is_active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuthSession(SQLModel, table=True):
    __tablename__ = "auth_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PasswordReset(SQLModel, table=True):
    """A single-use link, mailed to a user who forgot the password (only the token's hash is stored)."""

    __tablename__ = "password_resets"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Invitation(SQLModel, table=True):
    __tablename__ = "invitations"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True)
    email: str = Field(index=True)
    name: str = ""
    role: Role = Field(sa_type=str_enum(Role))
    tenant_id: int | None = Field(default=None, foreign_key="tenants.id")
    invited_by: int | None = Field(default=None, foreign_key="users.id")
    #: an investor's invitation names the partner of an SPV the new login will act for
    spv_partner_id: int | None = Field(default=None, foreign_key="spv_partners.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    """A bearer key `pk_<key_id>_<secret>`; key_id is public, only the secret's hash is kept."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    key_id: str = Field(unique=True, index=True)
    secret_hash: str
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
