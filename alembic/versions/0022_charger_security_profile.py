"""charger security profile floor

`security_profile`: the lowest OCPP security profile a charger may connect with (0 = any). It is raised,
never lowered, when the charger first connects at the profile an accepted SetNetworkProfile (2.0.1) or
ChangeConfiguration SecurityProfile (1.6) announced (`security_profile_target`): no fallback (A05).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs (SQLite adds a column with a default in place; a batch copy would drop `chargers`).
    op.add_column("chargers", sa.Column("security_profile", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("chargers", sa.Column("security_profile_target", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("chargers", "security_profile_target")
    op.drop_column("chargers", "security_profile")
