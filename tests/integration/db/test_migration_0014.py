"""Migration 0014 on a database that already holds duplicate current documents (the race it closes):
the oldest stays current with its key, the later copies are marked superseded, on both backends."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import select

from alembic import command
from pipelet_app.auth import Principal
from pipelet_app.cli.db import alembic_config
from pipelet_app.db import get_engine, session_scope
from pipelet_app.db.models import SpvDocument, SpvPartner, User
from pipelet_app.services import investors as investor_data

COLUMNS = "spv_id, tax_year, partner_id, kind, status, filename, sha256, size_bytes, content, created_at"


def test_existing_duplicates_keep_the_oldest_current(demo: dict) -> None:
    with session_scope() as db:
        ivy = Principal.of(db.exec(select(User).where(User.email == "investor@pipelet.demo")).one())
        partner = db.exec(select(SpvPartner).where(SpvPartner.name == "Evergreen Tax Equity LLC")).one()
        investor_data.k1_pdf(db, ivy, partner.id, 2025)
        stored = db.exec(select(SpvDocument.id)).one()
    get_engine().dispose()
    command.downgrade(alembic_config(), "0013")
    with get_engine().begin() as conn:
        for _ in range(2):
            copy = f"INSERT INTO spv_documents ({COLUMNS}) SELECT {COLUMNS} FROM spv_documents WHERE id = :id"
            conn.execute(text(copy), {"id": stored})
    get_engine().dispose()
    command.upgrade(alembic_config(), "head")
    with session_scope() as db:
        docs = db.exec(select(SpvDocument).order_by(SpvDocument.id)).all()
    assert len(docs) == 3
    assert docs[0].current_key == f"{partner.spv_id}/2025/k1/{partner.id}" and docs[0].superseded_at is None
    assert all(d.current_key is None and d.superseded_at is not None for d in docs[1:])
