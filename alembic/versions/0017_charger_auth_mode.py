"""charger auth mode

Every charger authenticates with HTTP Basic unless an operator explicitly chose "none" for it. Existing
rows become "basic": a charger that had no password is refused until an operator rotates its password
(or claims it), which is the point of the change.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 03:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs (SQLite adds a column with a default in place): a batch copy of `chargers` would drop
    # the table under the rows that reference it.
    op.add_column("chargers", sa.Column("auth_mode", sa.String(length=32), nullable=False, server_default="basic"))


def downgrade() -> None:
    op.drop_column("chargers", "auth_mode")  # SQLite >= 3.35 drops a column in place
