"""payments: exact session cost, a site's pre-authorisation amount, the payment ledger

`op_charging_sessions.cost` becomes NUMERIC(12,3) (it was a float), rounded to 3 decimals. PostgreSQL
converts the column in place; SQLite adds the new column, copies, drops the old one and renames (in place,
SQLite >= 3.35): a batch copy of the sessions table would drop it under the rows that reference it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(12, 3)


def _retype_cost_on_sqlite(new_type: str, copy: str) -> None:
    op.execute(f"ALTER TABLE op_charging_sessions ADD COLUMN cost_new {new_type}")
    op.execute(f"UPDATE op_charging_sessions SET cost_new = {copy}")
    op.execute("ALTER TABLE op_charging_sessions DROP COLUMN cost")
    op.execute("ALTER TABLE op_charging_sessions RENAME COLUMN cost_new TO cost")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _retype_cost_on_sqlite("NUMERIC(12, 3)", "round(cost, 3)")
    else:
        op.alter_column(
            "op_charging_sessions",
            "cost",
            type_=MONEY,
            existing_nullable=True,
            postgresql_using="round(cost::numeric, 3)",
        )
    op.add_column("sites", sa.Column("preauth_amount", MONEY, nullable=False, server_default="50"))
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("charger_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("id_tag", sa.String(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("provider_ref", sa.String(), nullable=True),
        sa.Column("request_key", sa.String(), nullable=False),
        sa.Column("public_token", sa.String(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("authorized_amount", MONEY, nullable=False),
        sa.Column("captured_amount", MONEY, nullable=True),
        sa.Column("shortfall", MONEY, nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("receipt_sent_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.ForeignKeyConstraint(["charger_id"], ["chargers.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["op_charging_sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_key"),
    )
    for column in (
        "tenant_id",
        "charger_id",
        "session_id",
        "id_tag",
        "provider_ref",
        "public_token",
        "state",
    ):
        op.create_index(f"ix_payments_{column}", "payments", [column], unique=column == "public_token")
    op.create_table(
        "payment_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payment_id", "kind"),
    )
    op.create_index("ix_payment_entries_payment_id", "payment_entries", ["payment_id"])
    op.create_table(
        "payment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )


def downgrade() -> None:
    op.drop_table("payment_events")
    op.drop_index("ix_payment_entries_payment_id", table_name="payment_entries")
    op.drop_table("payment_entries")
    for column in (
        "tenant_id",
        "charger_id",
        "session_id",
        "id_tag",
        "provider_ref",
        "public_token",
        "state",
    ):
        op.drop_index(f"ix_payments_{column}", table_name="payments")
    op.drop_table("payments")
    op.drop_column("sites", "preauth_amount")
    if op.get_bind().dialect.name == "sqlite":
        _retype_cost_on_sqlite("FLOAT", "cost")
    else:
        op.alter_column("op_charging_sessions", "cost", type_=sa.Float(), existing_nullable=True)
