"""partial indexes for the attention list: flagged (review_pending) and open sessions

At 1,000 sites x 10 chargers x a year (3.65M sessions) the attention list's flagged and stuck queries
were sequential scans of 0.7 s each (benchmarks/operator); these indexes hold only the few rows they
look for.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_op_charging_sessions_review_pending",
        "op_charging_sessions",
        ["start_utc"],
        postgresql_where=sa.text("review_pending IS true"),
        sqlite_where=sa.text("review_pending = 1"),
    )
    op.create_index(
        "ix_op_charging_sessions_open",
        "op_charging_sessions",
        ["start_utc"],
        postgresql_where=sa.text("end_utc IS NULL"),
        sqlite_where=sa.text("end_utc IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_op_charging_sessions_open", table_name="op_charging_sessions")
    op.drop_index("ix_op_charging_sessions_review_pending", table_name="op_charging_sessions")
