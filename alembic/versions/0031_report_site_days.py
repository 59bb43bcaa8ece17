"""report_site_days / _months: finished sessions summed per site, local day (month) and currency

The portfolio report read a year of sessions per request: 18.8 s for 1,000 sites x 10 chargers x a
year on PostgreSQL (benchmarks/operator); summed per local day it still took 4.5 s (365,000 rows to
group by month), so the months are kept too. The report now reads these sums. On PostgreSQL, triggers keep them
exact: a finished session inserted, changed (end, energy, price, currency, charger) or deleted moves
its figures between buckets; a charger moved to another site and a site whose zone changed are rebuilt.
On SQLite the table exists but stays empty (the report sums sessions there; docs/reports.md).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 10:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The local day of a UTC instant stored naive: AT TIME ZONE 'UTC' makes it an instant, AT TIME ZONE the
# site's zone its local time. A zone PostgreSQL does not know counts as UTC (the domain's rule too).
FUNCTIONS = [
    # Whole Wh of one session, as the domain rounds them; a non-finite value (never expected) counts 0
    # rather than failing the CSMS's write of the session.
    """
    CREATE FUNCTION report_wh(p_energy double precision) RETURNS bigint AS $$
        SELECT CASE WHEN p_energy IS NULL OR p_energy IN ('NaN', 'Infinity', '-Infinity')
                         OR abs(p_energy) > 1e15 THEN 0
                    ELSE round(p_energy)::bigint END
    $$ LANGUAGE sql IMMUTABLE
    """,
    """
    CREATE FUNCTION report_local_day(p_end timestamp, p_zone text) RETURNS date AS $$
    BEGIN
        RETURN ((p_end AT TIME ZONE 'UTC') AT TIME ZONE p_zone)::date;
    EXCEPTION WHEN invalid_parameter_value THEN
        RETURN p_end::date;
    END $$ LANGUAGE plpgsql STABLE
    """,
    """
    CREATE FUNCTION report_site_days_add(p_charger integer, p_end timestamp, p_energy double precision,
                                         p_cost numeric, p_currency varchar, p_sign integer)
    RETURNS void AS $$
    DECLARE
        v_site integer;
        v_zone text;
        v_day date;
        v_wh bigint;
        v_cost numeric;
        v_priced integer;
    BEGIN
        IF p_charger IS NULL OR p_end IS NULL THEN
            RETURN;
        END IF;
        SELECT c.site_id, st.timezone INTO v_site, v_zone
        FROM chargers c JOIN sites st ON st.id = c.site_id WHERE c.id = p_charger;
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
        VALUES (v_site, date_trunc('month', v_day::timestamp)::date, p_currency, p_sign, v_wh, v_cost, v_priced)
        ON CONFLICT (site_id, month, currency) DO UPDATE SET
            sessions = r.sessions + excluded.sessions,
            energy_wh = r.energy_wh + excluded.energy_wh,
            revenue = r.revenue + excluded.revenue,
            priced = r.priced + excluded.priced;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE FUNCTION report_site_days_rebuild(p_sites integer[]) RETURNS void AS $$
    BEGIN
        DELETE FROM report_site_days WHERE site_id = ANY(p_sites);
        INSERT INTO report_site_days (site_id, day, currency, sessions, energy_wh, revenue, priced)
        SELECT c.site_id, report_local_day(s.end_utc, st.timezone), s.currency, count(*),
               sum(report_wh(s.energy_wh)), coalesce(sum(s.cost), 0), count(s.cost)
        FROM op_charging_sessions s
        JOIN chargers c ON c.id = s.charger_id
        JOIN sites st ON st.id = c.site_id
        WHERE c.site_id = ANY(p_sites) AND s.end_utc IS NOT NULL
        GROUP BY 1, 2, 3;
        DELETE FROM report_site_months WHERE site_id = ANY(p_sites);
        INSERT INTO report_site_months (site_id, month, currency, sessions, energy_wh, revenue, priced)
        SELECT site_id, date_trunc('month', day::timestamp)::date, currency, sum(sessions), sum(energy_wh),
               sum(revenue), sum(priced)
        FROM report_site_days WHERE site_id = ANY(p_sites)
        GROUP BY 1, 2, 3;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE FUNCTION report_site_days_session() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM report_site_days_add(OLD.charger_id, OLD.end_utc, OLD.energy_wh, OLD.cost, OLD.currency, -1);
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            PERFORM report_site_days_add(NEW.charger_id, NEW.end_utc, NEW.energy_wh, NEW.cost, NEW.currency, 1);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE FUNCTION report_site_days_charger() RETURNS trigger AS $$
    BEGIN
        PERFORM report_site_days_rebuild(ARRAY_REMOVE(ARRAY[OLD.site_id, NEW.site_id], NULL));
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE FUNCTION report_site_days_site() RETURNS trigger AS $$
    BEGIN
        PERFORM report_site_days_rebuild(ARRAY[NEW.id]);
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
]
# Running sessions (no end) fire nothing: MeterValues on the CSMS's hot path stay trigger-free.
TRIGGERS = [
    """CREATE TRIGGER report_site_days_insert AFTER INSERT ON op_charging_sessions
       FOR EACH ROW WHEN (NEW.end_utc IS NOT NULL) EXECUTE FUNCTION report_site_days_session()""",
    """CREATE TRIGGER report_site_days_delete AFTER DELETE ON op_charging_sessions
       FOR EACH ROW WHEN (OLD.end_utc IS NOT NULL) EXECUTE FUNCTION report_site_days_session()""",
    """CREATE TRIGGER report_site_days_update AFTER UPDATE ON op_charging_sessions
       FOR EACH ROW WHEN ((OLD.end_utc IS NOT NULL OR NEW.end_utc IS NOT NULL) AND
           (OLD.end_utc, OLD.charger_id, OLD.energy_wh, OLD.cost, OLD.currency) IS DISTINCT FROM
           (NEW.end_utc, NEW.charger_id, NEW.energy_wh, NEW.cost, NEW.currency))
       EXECUTE FUNCTION report_site_days_session()""",
    """CREATE TRIGGER report_site_days_charger AFTER UPDATE OF site_id ON chargers
       FOR EACH ROW WHEN (OLD.site_id IS DISTINCT FROM NEW.site_id)
       EXECUTE FUNCTION report_site_days_charger()""",
    """CREATE TRIGGER report_site_days_site AFTER UPDATE OF timezone ON sites
       FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone)
       EXECUTE FUNCTION report_site_days_site()""",
]
DROP = [
    "DROP TRIGGER IF EXISTS report_site_days_site ON sites",
    "DROP TRIGGER IF EXISTS report_site_days_charger ON chargers",
    "DROP TRIGGER IF EXISTS report_site_days_update ON op_charging_sessions",
    "DROP TRIGGER IF EXISTS report_site_days_delete ON op_charging_sessions",
    "DROP TRIGGER IF EXISTS report_site_days_insert ON op_charging_sessions",
    "DROP FUNCTION IF EXISTS report_site_days_site()",
    "DROP FUNCTION IF EXISTS report_site_days_charger()",
    "DROP FUNCTION IF EXISTS report_site_days_session()",
    "DROP FUNCTION IF EXISTS report_site_days_rebuild(integer[])",
    "DROP FUNCTION IF EXISTS report_site_days_add(integer, timestamp, double precision, numeric, varchar, integer)",
    "DROP FUNCTION IF EXISTS report_local_day(timestamp, text)",
    "DROP FUNCTION IF EXISTS report_wh(double precision)",
]


def upgrade() -> None:
    op.create_table(
        "report_site_days",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.Numeric(14, 3), nullable=False),
        sa.Column("priced", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "day", "currency"),
    )
    op.create_table(
        "report_site_months",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.Numeric(14, 3), nullable=False),
        sa.Column("priced", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "month", "currency"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in FUNCTIONS + TRIGGERS:
        op.execute(statement)
    op.execute("SELECT report_site_days_rebuild(ARRAY(SELECT id FROM sites))")
    op.execute("ANALYZE report_site_days")
    op.execute("ANALYZE report_site_months")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DROP:
            op.execute(statement)
    op.drop_table("report_site_months")
    op.drop_table("report_site_days")
