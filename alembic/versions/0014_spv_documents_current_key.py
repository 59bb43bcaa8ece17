"""spv documents: one current document per SPV, year, kind and partner

Concurrent first downloads of a released K-1 each stored a copy. `current_key` is unique while a
document is current and NULL once superseded; existing duplicates keep the oldest as current and are
marked superseded at their own creation time.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("spv_documents", sa.Column("current_key", sa.String(length=80), nullable=True))
    op.execute(
        """
        UPDATE spv_documents SET superseded_at = created_at
        WHERE superseded_at IS NULL AND id NOT IN (
            SELECT MIN(id) FROM spv_documents WHERE superseded_at IS NULL
            GROUP BY spv_id, tax_year, kind, partner_id
        )
        """
    )
    op.execute(
        """
        UPDATE spv_documents SET current_key =
            CAST(spv_id AS VARCHAR) || '/' || CAST(tax_year AS VARCHAR) || '/' || kind || '/'
            || COALESCE(CAST(partner_id AS VARCHAR), '-')
        WHERE superseded_at IS NULL
        """
    )
    op.create_index("ix_spv_documents_current_key", "spv_documents", ["current_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_spv_documents_current_key", table_name="spv_documents")
    op.drop_column("spv_documents", "current_key")
