"""id tokens unique per tenant whatever their case

OCPP id tokens are case-insensitive (docs/ocpp-energy-rules.md): `acme0001` and `ACME0001` are one card.
Authorization already compares them that way; this makes the database refuse a second spelling of a
tenant's token, and gives the cross-tenant lookup by `upper(token)` an index (it scanned the table).

A database that already holds two spellings of one token in a tenant is not changed: the upgrade stops
and names them, because which card is the right one is an operator's decision, not ours.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT tenant_id, upper(token) AS token, count(*) FROM id_tokens"
                " GROUP BY tenant_id, upper(token) HAVING count(*) > 1 ORDER BY 1, 2"
            )
        )
        .all()
    )
    if clashes:
        listed = ", ".join(f"tenant {tenant}: {token} ({n} spellings)" for tenant, token, n in clashes[:20])
        raise RuntimeError(
            "id_tokens holds the same token in different cases within one tenant; delete or rename all but "
            f"one of each, then upgrade again: {listed}"
        )
    op.create_index(
        "uq_id_tokens_tenant_token_ci", "id_tokens", ["tenant_id", sa.text("upper(token)")], unique=True
    )
    op.create_index("ix_id_tokens_token_upper", "id_tokens", [sa.text("upper(token)")])


def downgrade() -> None:
    op.drop_index("ix_id_tokens_token_upper", table_name="id_tokens")
    op.drop_index("uq_id_tokens_tenant_token_ci", table_name="id_tokens")
