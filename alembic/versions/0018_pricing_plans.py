"""pricing plans, a charger's plan and multiplier, a site's currency

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pricing_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_index(op.f("ix_pricing_plans_tenant_id"), "pricing_plans", ["tenant_id"], unique=False)
    # Plain ALTERs (SQLite adds columns in place; a batch copy of `chargers` would drop the table under
    # the rows that reference it).
    if op.get_bind().dialect.name == "sqlite":  # SQLite takes a column-level REFERENCES in ADD COLUMN
        op.execute("ALTER TABLE chargers ADD COLUMN pricing_plan_id INTEGER REFERENCES pricing_plans (id)")
    else:
        op.add_column("chargers", sa.Column("pricing_plan_id", sa.Integer(), nullable=True))
        op.create_foreign_key(None, "chargers", "pricing_plans", ["pricing_plan_id"], ["id"])
    op.add_column(
        "chargers", sa.Column("price_multiplier", sa.Numeric(6, 3), nullable=False, server_default="1")
    )
    op.add_column("sites", sa.Column("currency", sa.String(length=3), nullable=False, server_default="EUR"))


def downgrade() -> None:
    op.drop_column("sites", "currency")
    op.drop_column("chargers", "price_multiplier")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("chargers_pricing_plan_id_fkey", "chargers", type_="foreignkey")
    op.drop_column("chargers", "pricing_plan_id")
    op.drop_index(op.f("ix_pricing_plans_tenant_id"), table_name="pricing_plans")
    op.drop_table("pricing_plans")
