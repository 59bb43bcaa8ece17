"""onboarding: site address/commissioning/lifecycle/SPV, charger name/network/retired,
firmware history, fleet customers of an operator, id token types

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _add_fk_column(table: str, column: str, target: str) -> None:
    # Plain ALTERs (a batch copy of a referenced table would drop it under the rows that reference it).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target} (id)")
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(f"{table}_{column}_fkey", table, target, [column], ["id"])
    op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def upgrade() -> None:
    op.add_column("sites", sa.Column("commissioning_date", sa.Date(), nullable=True))
    op.add_column(
        "sites",
        sa.Column("lifecycle_state", sa.String(length=32), nullable=False, server_default="operating"),
    )
    _add_fk_column("sites", "spv_id", "spvs")
    _add_fk_column("tenants", "operator_tenant_id", "tenants")
    op.add_column("chargers", sa.Column("display_name", sa.String(), nullable=False, server_default=""))
    op.add_column("chargers", sa.Column("network", sa.String(length=32), nullable=False, server_default=""))
    op.add_column("chargers", sa.Column("retired_at", sa.DateTime(), nullable=True))
    op.add_column(
        "id_tokens", sa.Column("type", sa.String(length=16), nullable=False, server_default="ISO14443")
    )
    op.create_table(
        "charger_firmware_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("charger_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["charger_id"], ["chargers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_charger_firmware_history_charger_id"),
        "charger_firmware_history",
        ["charger_id"],
        unique=False,
    )
    # What chargers report today starts their history.
    op.execute(
        "INSERT INTO charger_firmware_history (charger_id, version, seen_at) "
        "SELECT id, firmware_version, COALESCE(last_boot_at, created_at) FROM chargers WHERE firmware_version <> ''"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_charger_firmware_history_charger_id"), table_name="charger_firmware_history")
    op.drop_table("charger_firmware_history")
    op.drop_column("id_tokens", "type")
    for column in ("retired_at", "network", "display_name"):
        op.drop_column("chargers", column)
    for table, column in (("tenants", "operator_tenant_id"), ("sites", "spv_id")):
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
        if op.get_bind().dialect.name != "sqlite":
            op.drop_constraint(f"{table}_{column}_fkey", table, type_="foreignkey")
        op.drop_column(table, column)
    op.drop_column("sites", "lifecycle_state")
    op.drop_column("sites", "commissioning_date")
