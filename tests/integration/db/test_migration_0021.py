"""Id tokens are one card whatever their case (migration 0021), on both backends: the database refuses
a second spelling in one tenant, lets another tenant hold the same token, and an upgrade over a
database that already holds two spellings stops and names them instead of choosing one."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from alembic import command
from pipelet_app.cli.db import alembic_config
from pipelet_app.db import get_engine, session_scope
from pipelet_app.db.models import IdToken, Tenant, TenantKind


def _tenants() -> tuple[int, int]:
    with session_scope() as db:
        first, second = (
            Tenant(name="A", slug="a", kind=TenantKind.OPERATOR),
            Tenant(name="B", slug="b", kind=TenantKind.OPERATOR),
        )
        db.add_all([first, second])
        db.flush()
        assert first.id is not None and second.id is not None
        return first.id, second.id


def test_a_second_spelling_in_one_tenant_is_refused(database: str) -> None:
    first, second = _tenants()
    with session_scope() as db:
        db.add_all([IdToken(tenant_id=first, token="acme0001"), IdToken(tenant_id=second, token="ACME0001")])
    with pytest.raises(IntegrityError), session_scope() as db:
        db.add(IdToken(tenant_id=first, token="Acme0001"))


def test_upgrade_over_two_spellings_stops_and_names_them(database: str) -> None:
    first, _ = _tenants()
    get_engine().dispose()
    command.downgrade(alembic_config(), "0020")
    with get_engine().begin() as conn:
        for token in ("acme0001", "ACME0001", "other"):
            conn.execute(
                text("INSERT INTO id_tokens (tenant_id, token, status) VALUES (:t, :v, 'Accepted')"),
                {"t": first, "v": token},
            )
    get_engine().dispose()
    with pytest.raises(RuntimeError, match=f"tenant {first}: ACME0001 \\(2 spellings\\)"):
        command.upgrade(alembic_config(), "head")
    get_engine().dispose()
    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM id_tokens WHERE token = 'ACME0001'"))
    get_engine().dispose()
    command.upgrade(alembic_config(), "head")
    with session_scope() as db:
        assert sorted(db.exec(select(IdToken.token)).all()) == ["acme0001", "other"]
