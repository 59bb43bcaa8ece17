"""site_devices.switch_phases: charger and car can switch between 1 and 3 phases

The surplus controller switched phases only in the simulator: nothing told the loop that a real charger
can. False for every existing device (what the loop assumed so far); an operator sets it per charger
device (POST/PATCH /api/v1/sites, the site page).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-05 21:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "site_devices",
        sa.Column("switch_phases", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("site_devices", "switch_phases")
