"""surplus_loop_memory: the surplus loop's memory per site, so a new owner continues where the last stopped

The per-site actuation loop kept the controller's memory (phase lockout, enable/handover/bridging timers,
draw caps, recent PV) and what each charger last answered in the owning process only: a worker that took
a site over (the owner crashed, or the lease moved in scale-out) started blank, could switch phases
inside the lockout and re-sent unchanged profiles. The owner now saves it after each cycle (JSON,
`domain/surplus/saved.py`) and the next owner restores it (docs/surplus-actuation.md).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-05 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "surplus_loop_memory",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("saved_utc", sa.DateTime(), nullable=False),
        sa.Column("memory", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"]),
        sa.PrimaryKeyConstraint("site_id"),
    )


def downgrade() -> None:
    op.drop_table("surplus_loop_memory")
