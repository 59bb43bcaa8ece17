"""What the database benchmarks share (site_energy, loop_memory): a fresh migrated database with one
operator tenant and N sites, so their setups cannot drift apart and each run adds only its own rows."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any


def create_postgres_database(url: str) -> None:
    """Drop and create the database `url` names (a run starts from nothing, not from the last run's rows)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def prepare_sites(url: str, sites: int, more: Callable[[Any, range], None]) -> None:
    """A fresh migrated database at `url` (PostgreSQL: created again; SQLite: a new file) with sites
    1..`sites` of one tenant, and what `more(db, site_ids)` adds in the same transaction. Bulk inserts:
    setup is not measured. Sets DATABASE_URL for this process and the ones it starts."""
    if url.startswith("postgresql"):
        create_postgres_database(url)
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import insert

    from pipelet_app.cli.db import upgrade_database
    from pipelet_app.db import reset_engine, session_scope
    from pipelet_app.db.models import Site, Tenant, TenantKind

    reset_engine()
    upgrade_database()
    site_ids = range(1, sites + 1)
    with session_scope() as db:
        tenant = Tenant(name="Bench", slug="bench", kind=TenantKind.OPERATOR)
        db.add(tenant)
        db.flush()
        db.execute(insert(Site), [{"id": i, "tenant_id": tenant.id, "name": f"S{i}"} for i in site_ids])
        more(db, site_ids)
    reset_engine()
