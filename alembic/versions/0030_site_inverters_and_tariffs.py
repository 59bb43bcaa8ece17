"""site_inverters (operator-linked inverter clouds as a site PV source); tariff source and cache on
site_surplus

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_inverters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("brand", sa.String(length=32), nullable=False),
        sa.Column("system_id", sa.String(length=100), nullable=False),
        sa.Column("system_timezone", sa.String(length=64), nullable=True),
        sa.Column("credentials_enc", sa.Text(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("ledger", sa.JSON(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(), nullable=True),
        sa.Column("last_poll_utc", sa.DateTime(), nullable=True),
        sa.Column("stored_until_utc", sa.DateTime(), nullable=True),
        sa.Column("next_poll_utc", sa.DateTime(), nullable=True),
        sa.Column("lease_until_utc", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "brand", "system_id", name="uq_site_inverter_system"),
    )
    op.create_index(op.f("ix_site_inverters_site_id"), "site_inverters", ["site_id"], unique=False)
    op.create_index(
        op.f("ix_site_inverters_next_poll_utc"), "site_inverters", ["next_poll_utc"], unique=False
    )
    with op.batch_alter_table("site_surplus") as batch:
        batch.add_column(
            sa.Column("tariff_source", sa.String(length=16), nullable=False, server_default="none")
        )
        batch.add_column(sa.Column("tariff_region", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("tariff_csv", sa.Text(), nullable=True))
        batch.add_column(sa.Column("tariff_prices", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("tariff_slot_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("tariff_fetched_utc", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("tariff_next_fetch_utc", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("tariff_error", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("site_surplus") as batch:
        for column in (
            "tariff_error",
            "tariff_next_fetch_utc",
            "tariff_fetched_utc",
            "tariff_slot_s",
            "tariff_prices",
            "tariff_csv",
            "tariff_region",
            "tariff_source",
        ):
            batch.drop_column(column)
    op.drop_index(op.f("ix_site_inverters_next_poll_utc"), table_name="site_inverters")
    op.drop_index(op.f("ix_site_inverters_site_id"), table_name="site_inverters")
    op.drop_table("site_inverters")
