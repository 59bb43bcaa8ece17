"""chargers.registration_status: the operator's answer to the next BootNotification (OCPP 2.0.1 B02/B03)

"Accepted" for every existing charger (what they were answered so far); an operator may set "Pending"
or "Rejected" (PUT /api/v1/chargers/{id}/registration).

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05 11:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "chargers",
        sa.Column("registration_status", sa.String(), server_default="Accepted", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("chargers", "registration_status")
