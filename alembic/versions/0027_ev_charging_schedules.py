"""ev_charging_schedules: ISO 15118 schedules the cars chose; ev_charging_needs.ev_max_power_w (DC)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ev_charging_needs") as batch_op:
        batch_op.add_column(sa.Column("ev_max_power_w", sa.Float(), nullable=True))
    op.create_table(
        "ev_charging_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("charger_id", sa.Integer(), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("time_base", sa.DateTime(), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["charger_id"], ["chargers.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["op_charging_sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_ev_charging_schedules_charger_id"), "ev_charging_schedules", ["charger_id"], unique=False
    )
    op.create_index(
        op.f("ix_ev_charging_schedules_session_id"), "ev_charging_schedules", ["session_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ev_charging_schedules_session_id"), table_name="ev_charging_schedules")
    op.drop_index(op.f("ix_ev_charging_schedules_charger_id"), table_name="ev_charging_schedules")
    op.drop_table("ev_charging_schedules")
    with op.batch_alter_table("ev_charging_needs") as batch_op:
        batch_op.drop_column("ev_max_power_w")
