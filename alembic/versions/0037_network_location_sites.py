"""network_location_sites, op_charging_sessions.network_site_id: network sessions count for a site

A network session on a charger not linked to a Pipelet charger belonged to no site, so site reports
left it out. An operator now maps a network location (the `site_external_id` of an account's chargers)
to one of the tenant's sites (`network_location_sites`); the poll, and the mapping itself, set the
sessions' `network_site_id`. A session's site is its charger's site, else `network_site_id`.

On PostgreSQL the report sums (migration 0031) follow: `report_site_days_add` takes the session's
`network_site_id` as the fallback site, the update trigger also fires when it changes, and a rebuild
counts a site's network sessions too.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-05 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADD = """
    CREATE FUNCTION report_site_days_add(p_charger integer, p_site integer, p_end timestamp,
                                         p_energy double precision, p_cost numeric, p_currency varchar,
                                         p_sign integer)
    RETURNS void AS $$
    DECLARE
        v_site integer;
        v_zone text;
        v_day date;
        v_wh bigint;
        v_cost numeric;
        v_priced integer;
    BEGIN
        IF p_end IS NULL OR (p_charger IS NULL AND p_site IS NULL) THEN
            RETURN;
        END IF;
        -- the charger's site, else the site the operator mapped the network location to
        SELECT st.id, st.timezone INTO v_site, v_zone
        FROM sites st
        WHERE st.id = coalesce((SELECT c.site_id FROM chargers c WHERE c.id = p_charger), p_site);
        IF v_site IS NULL THEN
            RETURN;
        END IF;
        v_day := report_local_day(p_end, v_zone);
        v_wh := p_sign * report_wh(p_energy);
        v_cost := p_sign * coalesce(p_cost, 0);
        v_priced := CASE WHEN p_cost IS NULL THEN 0 ELSE p_sign END;
        INSERT INTO report_site_days AS r (site_id, day, currency, sessions, energy_wh, revenue, priced)
        VALUES (v_site, v_day, p_currency, p_sign, v_wh, v_cost, v_priced)
        ON CONFLICT (site_id, day, currency) DO UPDATE SET
            sessions = r.sessions + excluded.sessions,
            energy_wh = r.energy_wh + excluded.energy_wh,
            revenue = r.revenue + excluded.revenue,
            priced = r.priced + excluded.priced;
        INSERT INTO report_site_months AS r (site_id, month, currency, sessions, energy_wh, revenue, priced)
        VALUES (v_site, date_trunc('month', v_day::timestamp)::date, p_currency, p_sign, v_wh, v_cost,
                v_priced)
        ON CONFLICT (site_id, month, currency) DO UPDATE SET
            sessions = r.sessions + excluded.sessions,
            energy_wh = r.energy_wh + excluded.energy_wh,
            revenue = r.revenue + excluded.revenue,
            priced = r.priced + excluded.priced;
    END $$ LANGUAGE plpgsql
"""
REBUILD = """
    CREATE OR REPLACE FUNCTION report_site_days_rebuild(p_sites integer[]) RETURNS void AS $$
    BEGIN
        DELETE FROM report_site_days WHERE site_id = ANY(p_sites);
        INSERT INTO report_site_days (site_id, day, currency, sessions, energy_wh, revenue, priced)
        SELECT x.site_id, report_local_day(x.end_utc, st.timezone), x.currency, count(*),
               sum(report_wh(x.energy_wh)), coalesce(sum(x.cost), 0), count(x.cost)
        FROM (
            -- two halves, each on its index (a coalesce of both sites would scan every session)
            SELECT c.site_id, s.end_utc, s.currency, s.energy_wh, s.cost
            FROM op_charging_sessions s JOIN chargers c ON c.id = s.charger_id
            WHERE c.site_id = ANY(p_sites) AND s.end_utc IS NOT NULL
            UNION ALL
            SELECT s.network_site_id, s.end_utc, s.currency, s.energy_wh, s.cost
            FROM op_charging_sessions s LEFT JOIN chargers c ON c.id = s.charger_id
            WHERE s.network_site_id = ANY(p_sites) AND c.site_id IS NULL AND s.end_utc IS NOT NULL
        ) x
        JOIN sites st ON st.id = x.site_id
        GROUP BY 1, 2, 3;
        DELETE FROM report_site_months WHERE site_id = ANY(p_sites);
        INSERT INTO report_site_months (site_id, month, currency, sessions, energy_wh, revenue, priced)
        SELECT site_id, date_trunc('month', day::timestamp)::date, currency, sum(sessions), sum(energy_wh),
               sum(revenue), sum(priced)
        FROM report_site_days WHERE site_id = ANY(p_sites)
        GROUP BY 1, 2, 3;
    END $$ LANGUAGE plpgsql
"""
SESSION = """
    CREATE OR REPLACE FUNCTION report_site_days_session() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM report_site_days_add(OLD.charger_id, OLD.network_site_id, OLD.end_utc, OLD.energy_wh,
                                         OLD.cost, OLD.currency, -1);
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            PERFORM report_site_days_add(NEW.charger_id, NEW.network_site_id, NEW.end_utc, NEW.energy_wh,
                                         NEW.cost, NEW.currency, 1);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
"""
UPDATE_TRIGGER = """
    CREATE TRIGGER report_site_days_update AFTER UPDATE ON op_charging_sessions
       FOR EACH ROW WHEN ((OLD.end_utc IS NOT NULL OR NEW.end_utc IS NOT NULL) AND
           (OLD.end_utc, OLD.charger_id, OLD.network_site_id, OLD.energy_wh, OLD.cost, OLD.currency)
           IS DISTINCT FROM
           (NEW.end_utc, NEW.charger_id, NEW.network_site_id, NEW.energy_wh, NEW.cost, NEW.currency))
       EXECUTE FUNCTION report_site_days_session()
"""
OLD_ADD_SIGNATURE = "report_site_days_add(integer, timestamp, double precision, numeric, varchar, integer)"
NEW_ADD_SIGNATURE = (
    "report_site_days_add(integer, integer, timestamp, double precision, numeric, varchar, integer)"
)


def _migration_0031():  # the functions as 0031 wrote them, for the downgrade
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("0031_report_site_days.py")
    spec = importlib.util.spec_from_file_location("migration_0031", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.create_table(
        "network_location_sites",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["network_accounts.id"]),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("account_id", "location_id"),
    )
    op.create_index(
        op.f("ix_network_location_sites_tenant_id"), "network_location_sites", ["tenant_id"], unique=False
    )
    op.create_index(
        op.f("ix_network_location_sites_site_id"), "network_location_sites", ["site_id"], unique=False
    )
    # Not a batch (table rebuild) on SQLite: that would drop the sessions' live-version triggers (0035).
    # SQLite takes the reference inline in ADD COLUMN (the value defaults to NULL).
    if op.get_bind().dialect.name != "postgresql":
        op.execute(
            "ALTER TABLE op_charging_sessions ADD COLUMN network_site_id INTEGER REFERENCES sites (id)"
        )
    else:
        op.add_column("op_charging_sessions", sa.Column("network_site_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "op_charging_sessions_network_site_id_fkey",
            "op_charging_sessions",
            "sites",
            ["network_site_id"],
            ["id"],
        )
    op.create_index(
        op.f("ix_op_charging_sessions_network_site_id"),
        "op_charging_sessions",
        ["network_site_id"],
        unique=False,
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS report_site_days_update ON op_charging_sessions")
    op.execute(f"DROP FUNCTION IF EXISTS {OLD_ADD_SIGNATURE}")
    for statement in (ADD, REBUILD, SESSION, UPDATE_TRIGGER):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        old = _migration_0031()
        op.execute("DROP TRIGGER IF EXISTS report_site_days_update ON op_charging_sessions")
        op.execute(f"DROP FUNCTION IF EXISTS {NEW_ADD_SIGNATURE}")
        add, rebuild, session = old.FUNCTIONS[2], old.FUNCTIONS[3], old.FUNCTIONS[4]
        op.execute(add)
        op.execute(rebuild.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
        op.execute(session.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
        op.execute(next(t for t in old.TRIGGERS if "report_site_days_update" in t))
    op.drop_index(op.f("ix_op_charging_sessions_network_site_id"), table_name="op_charging_sessions")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(
            "op_charging_sessions_network_site_id_fkey", "op_charging_sessions", type_="foreignkey"
        )
    op.execute("ALTER TABLE op_charging_sessions DROP COLUMN network_site_id")  # SQLite 3.35+ drops it too
    op.drop_index(op.f("ix_network_location_sites_site_id"), table_name="network_location_sites")
    op.drop_index(op.f("ix_network_location_sites_tenant_id"), table_name="network_location_sites")
    op.drop_table("network_location_sites")
