"""What the database benchmarks share (site_energy, loop_memory, surplus_loop): a fresh migrated database
with one operator tenant and N sites, so their setups cannot drift apart and each run adds only its own
rows; and for the two whose workers hold the sites' leases (loop_memory, surplus_loop) their common
options, the --smoke run, the leases and the check that every site stayed its worker's."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
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


def owner_of(site_id: int, workers: int) -> str:
    """The lease holder of a site: the sites are dealt out to `workers` workers in turn."""
    return f"bench-worker-{site_id % workers}"


def lease_parser(
    doc: str, database: str, workers: tuple[int, str], cycles: tuple[int, str]
) -> argparse.ArgumentParser:
    """A parser described by the first line of `doc`, with --sites, --workers and --cycles (default and
    help of each given), --database-url (PostgreSQL on loopback, database `database`) and --smoke (see
    `lease_run`)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=workers[0], help=workers[1])
    parser.add_argument("--cycles", type=int, default=cycles[0], help=cycles[1])
    parser.add_argument("--database-url", default=f"postgresql://postgres@127.0.0.1:5432/{database}")
    parser.add_argument(
        "--smoke", action="store_true", help="200 sites, 2 workers, 1 cycle, SQLite in a temp dir"
    )
    return parser


@contextlib.contextmanager
def lease_run(args: argparse.Namespace, prefix: str) -> Iterator[Path]:
    """A run's temporary folder (removed after it); with --smoke 200 sites, 2 workers and 1 cycle on SQLite
    in that folder. Sets a secret key for this process and the ones it starts."""
    os.environ.setdefault("PIPELET_SECRET_KEY", "bench")
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    if args.smoke:
        args.sites, args.workers, args.cycles = 200, 2, 1
        args.database_url = f"sqlite:///{workdir / 'bench.db'}"
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def lease_rows(
    site_ids: Iterable[int], workers: int, until: datetime, **columns: Any
) -> list[dict[str, Any]]:
    """`site_surplus` rows: each site's controller on and leased to its worker (`owner_of`) until `until`."""
    return [
        {"site_id": i, "enabled": True, "owner": owner_of(i, workers), "lease_until_utc": until, **columns}
        for i in site_ids
    ]


def wrong_owners(what: str, rows: Iterable[tuple[int, str]], sites: int, workers: int) -> list[str]:
    """A problem unless `rows` ((site id, owner) each) are one per site, each its worker's."""
    rows = list(rows)
    if len(rows) != sites or any(owner != owner_of(site_id, workers) for site_id, owner in rows):
        return [f"{len(rows)} {what} for {sites} sites, or one of the wrong owner"]
    return []


def lease_problems(url: str, sites: int, workers: int, memory: bool = True) -> list[str]:
    """After a run, at `url` (this process's database from now on): every site's lease, and with `memory`
    its loop memory row, one per site and its worker's."""
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import text

    from pipelet_app.db import reset_engine, session_scope

    reset_engine()
    with session_scope() as db:
        leases = db.execute(text("SELECT site_id, owner FROM site_surplus")).all()
        memories = db.execute(text("SELECT site_id, owner FROM surplus_loop_memory")).all()
    problems = wrong_owners("leases", leases, sites, workers)
    return problems + (wrong_owners("memory rows", memories, sites, workers) if memory else [])
