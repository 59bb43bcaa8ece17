"""session flags, review, connector max power; one meter reading per key

- `op_charging_sessions`: `flags`, `review_pending`, `reviewed_at`, `reviewed_by`, `energy_reported_wh`
  (domain.meter_energy; docs/ocpp-energy-rules.md); the driver/time index also carries `review_pending`
  so solar share still aggregates from the index alone on PostgreSQL.
- `connectors.max_power_w`: the plausibility checks' maximum power.
- `meter_values.location`, and a unique index per (session, timestamp, measurand, phase, context,
  location) that replaces the plain session index. Readings stored twice by retries under new message
  ids are deleted first (the lowest id of each key stays).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "session_id, timestamp, measurand, coalesce(phase, ''), coalesce(context, ''), coalesce(location, '')"


def upgrade() -> None:
    with op.batch_alter_table("op_charging_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flags", sa.String(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("review_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("energy_reported_wh", sa.Float(), nullable=True))
        batch_op.create_foreign_key(
            "fk_op_charging_sessions_reviewed_by_users", "users", ["reviewed_by"], ["id"]
        )
        batch_op.drop_index("ix_op_charging_sessions_driver_start")
        batch_op.create_index(
            "ix_op_charging_sessions_driver_start",
            ["driver_id", "start_utc", "id"],
            unique=False,
            postgresql_include=["source", "energy_wh", "solar_wh", "review_pending"],
        )
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_power_w", sa.Float(), nullable=True))
    with op.batch_alter_table("meter_values", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location", sa.String(), nullable=True))
    op.execute(
        "DELETE FROM meter_values WHERE session_id IS NOT NULL AND id NOT IN "
        f"(SELECT MIN(id) FROM meter_values WHERE session_id IS NOT NULL GROUP BY {KEY})"
    )
    op.execute(
        f"CREATE UNIQUE INDEX uq_meter_values_reading ON meter_values ({KEY}) WHERE session_id IS NOT NULL"
    )
    op.drop_index("ix_meter_values_session_id", table_name="meter_values")


def downgrade() -> None:
    op.create_index("ix_meter_values_session_id", "meter_values", ["session_id"], unique=False)
    op.drop_index("uq_meter_values_reading", table_name="meter_values")
    with op.batch_alter_table("meter_values", schema=None) as batch_op:
        batch_op.drop_column("location")
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.drop_column("max_power_w")
    with op.batch_alter_table("op_charging_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_op_charging_sessions_driver_start")
        batch_op.create_index(
            "ix_op_charging_sessions_driver_start",
            ["driver_id", "start_utc", "id"],
            unique=False,
            postgresql_include=["source", "energy_wh", "solar_wh"],
        )
        batch_op.drop_constraint("fk_op_charging_sessions_reviewed_by_users", type_="foreignkey")
        batch_op.drop_column("energy_reported_wh")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("review_pending")
        batch_op.drop_column("flags")
