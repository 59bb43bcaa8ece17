"""site_energy_price: what a kWh delivered at a site costs the operator (revenue vs energy cost)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sites", sa.Column("energy_price_per_kwh", sa.Numeric(12, 5), nullable=True))


def downgrade() -> None:
    op.drop_column("sites", "energy_price_per_kwh")
