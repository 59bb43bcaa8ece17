"""site_mqtt_credentials: a site's broker password, stored as Mosquitto's hash

Operators had no way to get or rotate their site's MQTT password but an admin running `pipelet mqtt-acl`
on the server, and the embedded broker of `pipelet run` took anonymous publishes into any site's topics.
One row per site with an issued credential: the `$7$` PBKDF2-SHA512 hash (never the password), when and
by whom it was issued. No rows at first: `pipelet mqtt-acl` imports the hashes of an existing password
file on its next run, the portal and API issue new ones.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_mqtt_credentials",
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id"), primary_key=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("issued_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("site_mqtt_credentials")
