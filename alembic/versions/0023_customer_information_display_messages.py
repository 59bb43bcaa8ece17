"""customer information reports and display messages (OCPP 2.0.1 N09/N10, O01-O06)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 07:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_information_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("charger_id", sa.Integer(), sa.ForeignKey("chargers.id"), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("seq_no", sa.Integer(), nullable=False),
        sa.Column("tbc", sa.Boolean(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("generated_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("charger_id", "request_id", "seq_no"),
    )
    op.create_index(
        "ix_customer_information_reports_charger_id", "customer_information_reports", ["charger_id"]
    )
    op.create_table(
        "display_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("charger_id", sa.Integer(), sa.ForeignKey("chargers.id"), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=True),
        sa.Column("message_format", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("start_at", sa.DateTime(), nullable=True),
        sa.Column("end_at", sa.DateTime(), nullable=True),
        sa.Column("transaction_id", sa.String(), nullable=True),
        sa.Column("evse_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("charger_id", "message_id"),
    )
    op.create_index("ix_display_messages_charger_id", "display_messages", ["charger_id"])


def downgrade() -> None:
    op.drop_index("ix_display_messages_charger_id", "display_messages")
    op.drop_table("display_messages")
    op.drop_index("ix_customer_information_reports_charger_id", "customer_information_reports")
    op.drop_table("customer_information_reports")
