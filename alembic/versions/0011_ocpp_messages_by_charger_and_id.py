"""ocpp messages by charger and id

A charger's newest messages (operator log, retry check at connect) by one backward index range scan;
the single-column index on charge_point_id is covered by both composite indexes and goes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 04:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ocpp_messages_cp_id", "ocpp_messages", ["charge_point_id", "id"], unique=False)
    op.drop_index("ix_ocpp_messages_charge_point_id", table_name="ocpp_messages")


def downgrade() -> None:
    op.create_index("ix_ocpp_messages_charge_point_id", "ocpp_messages", ["charge_point_id"], unique=False)
    op.drop_index("ix_ocpp_messages_cp_id", table_name="ocpp_messages")
