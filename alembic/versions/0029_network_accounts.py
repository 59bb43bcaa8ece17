"""network_accounts, network_chargers: charging-network integrations (Loop, EVRange, ChargePoint, Helios)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "network_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("credentials_enc", sa.Text(), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("last_error_utc", sa.DateTime(), nullable=True),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("sessions_synced", sa.Integer(), nullable=False),
        sa.Column("last_poll_utc", sa.DateTime(), nullable=True),
        sa.Column("last_success_utc", sa.DateTime(), nullable=True),
        sa.Column("next_poll_utc", sa.DateTime(), nullable=True),
        sa.Column("lease_until_utc", sa.DateTime(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "network", "label"),
    )
    op.create_index(op.f("ix_network_accounts_tenant_id"), "network_accounts", ["tenant_id"], unique=False)
    op.create_index(
        op.f("ix_network_accounts_next_poll_utc"), "network_accounts", ["next_poll_utc"], unique=False
    )
    op.create_table(
        "network_chargers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("site_external_id", sa.String(), nullable=False),
        sa.Column("site_name", sa.String(), nullable=False),
        sa.Column("vendor", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("serial", sa.String(), nullable=False),
        sa.Column("connectors", sa.Integer(), nullable=False),
        sa.Column("charger_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["network_accounts.id"]),
        sa.ForeignKeyConstraint(["charger_id"], ["chargers.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "external_id"),
    )
    op.create_index(op.f("ix_network_chargers_account_id"), "network_chargers", ["account_id"], unique=False)
    op.create_index(op.f("ix_network_chargers_tenant_id"), "network_chargers", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_network_chargers_tenant_id"), table_name="network_chargers")
    op.drop_index(op.f("ix_network_chargers_account_id"), table_name="network_chargers")
    op.drop_table("network_chargers")
    op.drop_index(op.f("ix_network_accounts_next_poll_utc"), table_name="network_accounts")
    op.drop_index(op.f("ix_network_accounts_tenant_id"), table_name="network_accounts")
    op.drop_table("network_accounts")
