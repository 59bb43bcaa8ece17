"""session_charging_state: a 2.0.1 transaction's newest chargingState and when it was reported

The surplus loop counts a car at 0 W at once when its charger says it stopped drawing. A 1.6 charger
says so in its connector's status (SuspendedEV, ...); a 2.0.1 charger says it only in the
TransactionEvent's `chargingState`, which was not stored. Two nullable columns: no rewrite of the
sessions table on PostgreSQL.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ALTERs, as 0022: a batch copy of a table other tables reference is not wanted
    op.add_column("op_charging_sessions", sa.Column("charging_state", sa.String(), nullable=True))
    op.add_column("op_charging_sessions", sa.Column("charging_state_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("op_charging_sessions", "charging_state_at")
    op.drop_column("op_charging_sessions", "charging_state")
