"""chargers.live_version, sites.live_version: what the live pages follow, kept by triggers

The live pages' poller (portals/live.py) asked every second, per followed tenant, for a fingerprint
built from all of its chargers, their connectors and two days of their sessions: 180-370 ms at 10,000
chargers (benchmarks/operator). Now each charger and site carries a counter that triggers raise on every
change a live page shows, and a tenant's fingerprint is the count and sums of its rows' counters
(services/live_versions.py). Triggers, not the writers' code: the CSMS, the ORM, the network importers
and the API all write these tables, and none of them can forget.

What raises a charger's counter: any change of its own columns except `last_seen_at` (every connected
charger's is refreshed every few seconds, which would wake every page every tick); a connector of it
added, changed or removed; a session of it started, stopped, deleted, moved, or changed once finished
(review, correction, price) or in any column but the three a MeterValues message writes on a running
session (energy_wh, energy_reported_wh, updated_at). Those stay trigger-free on the CSMS's hot path (as
in migration 0031): the fingerprint reads the running sessions' energy directly. A site's counter: any
change of its row (name, zone, address...).

The column lists are written out (SQLite triggers cannot compare whole rows); a unit test changes every
column of the models and checks that the fingerprint moves, so a column added later without a trigger
update fails it.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-05 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHARGER_COLUMNS = (
    "charge_point_id", "tenant_id", "site_id", "vendor", "model", "serial_number", "firmware_version",
    "ocpp_version", "status", "is_online", "last_boot_at", "basic_auth_hash", "auth_mode",
    "security_profile", "security_profile_target", "registration_status", "csms_node",
    "local_list_version", "pricing_plan_id", "price_multiplier", "display_name", "network", "retired_at",
    "created_at",
)  # fmt: skip
SITE_COLUMNS = (
    "tenant_id", "name", "timezone", "address", "latitude", "longitude", "has_pv_meter", "grid_limit_a",
    "phases", "currency", "preauth_amount", "energy_price_per_kwh", "commissioning_date",
    "lifecycle_state", "spv_id",
)  # fmt: skip
CONNECTOR_COLUMNS = ("charger_id", "connector_id", "status", "error_code", "updated_at", "max_power_w")
# A running session's columns other than what MeterValues writes (energy_wh, energy_reported_wh,
# updated_at): a change of one of these on a running session raises its charger's counter.
SESSION_COLUMNS = (
    "transaction_id", "station_id", "id_tag", "reason", "source", "driver_id", "charger_id",
    "connector_id", "start_utc", "end_utc", "meter_start_wh", "meter_stop_wh", "started_offline", "flags",
    "review_pending", "reviewed_at", "reviewed_by", "solar_wh", "solar_estimated", "cost", "currency",
)  # fmt: skip


def _differs(columns: Sequence[str], dialect: str) -> str:
    if dialect == "postgresql":
        old = ", ".join(f"OLD.{c}" for c in columns)
        new = ", ".join(f"NEW.{c}" for c in columns)
        return f"(({old}) IS DISTINCT FROM ({new}))"
    return "(" + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns) + ")"


def _session_moved(dialect: str) -> str:
    """Which session updates raise the charger's counter: all but a running session's meter update."""
    return f"(OLD.end_utc IS NOT NULL OR NEW.end_utc IS NOT NULL OR {_differs(SESSION_COLUMNS, dialect)})"


def _postgresql() -> list[str]:
    bump = "UPDATE chargers SET live_version = live_version + 1 WHERE id = {row}.charger_id"
    return [
        """CREATE FUNCTION live_bump_self() RETURNS trigger AS $$
        BEGIN
            NEW.live_version := OLD.live_version + 1;
            RETURN NEW;
        END $$ LANGUAGE plpgsql""",
        f"""CREATE FUNCTION live_bump_charger() RETURNS trigger AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                {bump.format(row="OLD")};
            END IF;
            IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.charger_id IS DISTINCT FROM OLD.charger_id) THEN
                {bump.format(row="NEW")};
            END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql""",
        f"""CREATE TRIGGER live_chargers BEFORE UPDATE ON chargers FOR EACH ROW
            WHEN {_differs(CHARGER_COLUMNS, "postgresql")} EXECUTE FUNCTION live_bump_self()""",
        f"""CREATE TRIGGER live_sites BEFORE UPDATE ON sites FOR EACH ROW
            WHEN {_differs(SITE_COLUMNS, "postgresql")} EXECUTE FUNCTION live_bump_self()""",
        """CREATE TRIGGER live_connectors_insert AFTER INSERT ON connectors FOR EACH ROW
            EXECUTE FUNCTION live_bump_charger()""",
        """CREATE TRIGGER live_connectors_delete AFTER DELETE ON connectors FOR EACH ROW
            EXECUTE FUNCTION live_bump_charger()""",
        f"""CREATE TRIGGER live_connectors_update AFTER UPDATE ON connectors FOR EACH ROW
            WHEN {_differs(CONNECTOR_COLUMNS, "postgresql")} EXECUTE FUNCTION live_bump_charger()""",
        """CREATE TRIGGER live_sessions_insert AFTER INSERT ON op_charging_sessions FOR EACH ROW
            WHEN (NEW.charger_id IS NOT NULL) EXECUTE FUNCTION live_bump_charger()""",
        """CREATE TRIGGER live_sessions_delete AFTER DELETE ON op_charging_sessions FOR EACH ROW
            WHEN (OLD.charger_id IS NOT NULL) EXECUTE FUNCTION live_bump_charger()""",
        f"""CREATE TRIGGER live_sessions_update AFTER UPDATE ON op_charging_sessions FOR EACH ROW
            WHEN {_session_moved("postgresql")} EXECUTE FUNCTION live_bump_charger()""",
    ]


def _sqlite() -> list[str]:
    """SQLite: AFTER triggers that update the row (recursive triggers are off, so no loop)."""

    def bump(row: str) -> str:
        return f"UPDATE chargers SET live_version = live_version + 1 WHERE id = {row}.charger_id;"

    return [
        f"""CREATE TRIGGER live_chargers AFTER UPDATE ON chargers FOR EACH ROW
            WHEN {_differs(CHARGER_COLUMNS, "sqlite")}
            BEGIN UPDATE chargers SET live_version = live_version + 1 WHERE id = NEW.id; END""",
        f"""CREATE TRIGGER live_sites AFTER UPDATE ON sites FOR EACH ROW
            WHEN {_differs(SITE_COLUMNS, "sqlite")}
            BEGIN UPDATE sites SET live_version = live_version + 1 WHERE id = NEW.id; END""",
        f"""CREATE TRIGGER live_connectors_insert AFTER INSERT ON connectors FOR EACH ROW
            BEGIN {bump("NEW")} END""",
        f"""CREATE TRIGGER live_connectors_delete AFTER DELETE ON connectors FOR EACH ROW
            BEGIN {bump("OLD")} END""",
        f"""CREATE TRIGGER live_connectors_update AFTER UPDATE ON connectors FOR EACH ROW
            WHEN {_differs(CONNECTOR_COLUMNS, "sqlite")}
            BEGIN {bump("OLD")} {bump("NEW")} END""",
        f"""CREATE TRIGGER live_sessions_insert AFTER INSERT ON op_charging_sessions FOR EACH ROW
            WHEN NEW.charger_id IS NOT NULL BEGIN {bump("NEW")} END""",
        f"""CREATE TRIGGER live_sessions_delete AFTER DELETE ON op_charging_sessions FOR EACH ROW
            WHEN OLD.charger_id IS NOT NULL BEGIN {bump("OLD")} END""",
        f"""CREATE TRIGGER live_sessions_update AFTER UPDATE ON op_charging_sessions FOR EACH ROW
            WHEN {_session_moved("sqlite")} BEGIN {bump("OLD")} {bump("NEW")} END""",
    ]


TRIGGERS = (
    "live_chargers ON chargers",
    "live_sites ON sites",
    "live_connectors_insert ON connectors",
    "live_connectors_delete ON connectors",
    "live_connectors_update ON connectors",
    "live_sessions_insert ON op_charging_sessions",
    "live_sessions_delete ON op_charging_sessions",
    "live_sessions_update ON op_charging_sessions",
)


def upgrade() -> None:
    for table in ("chargers", "sites"):
        op.add_column(table, sa.Column("live_version", sa.BigInteger(), server_default="0", nullable=False))
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _postgresql() if postgresql else _sqlite():
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger if postgresql else trigger.split()[0]}")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS live_bump_charger()")
        op.execute("DROP FUNCTION IF EXISTS live_bump_self()")
    for table in ("sites", "chargers"):
        op.drop_column(table, "live_version")
