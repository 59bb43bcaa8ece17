"""c4_vendor_login_ledgers: a vendor account's login count, shared by every worker and kept over restarts

Huawei FusionSolar locks an account after more than 5 logins in 10 minutes. The adapter counted them in
process memory only, so a restarted worker, or a second one, could log in a sixth time. One row per vendor
account (a hash of address and user name: no credential), the pruned login ledger, and a version for the
compare-and-set spend.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-06 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "c4_vendor_login_ledgers",
        sa.Column("account_key", sa.String(length=64), primary_key=True),
        sa.Column("brand", sa.String(length=32), nullable=False),
        sa.Column("ledger", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("c4_vendor_login_ledgers")
