"""health_months: stored monthly health per charger and site

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_months",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("online_s", sa.Float(), nullable=False),
        sa.Column("degraded_s", sa.Float(), nullable=False),
        sa.Column("offline_s", sa.Float(), nullable=False),
        sa.Column("fault_s", sa.Float(), nullable=False),
        sa.Column("faults", sa.Integer(), nullable=False),
        sa.Column("availability", sa.Float(), nullable=True),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "object_id", "month"),
    )
    op.create_index(op.f("ix_health_months_tenant_id"), "health_months", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_health_months_tenant_id"), table_name="health_months")
    op.drop_table("health_months")
