"""Fleet API benchmark: 1,000,000 charging sessions of 1,000 drivers over two years, in PostgreSQL.

Loads a fresh database (schema by the project's own migrations, sessions by COPY), then times the real
code paths of issue 5 on it: `list_sessions` (first page vs deep pages reached by cursor, next to an
OFFSET baseline at the same depth, in the same run), `solar_share_by_driver` over one year, the fleet
dashboard's data load (`fleet_overview`) and, through FastAPI's TestClient, the HTTP routes. Prints
EXPLAIN (ANALYZE, BUFFERS) of every query it times.

It measures twice: first on the schema exactly as migrated ("before"), then after creating
BENCHMARK-ONLY candidate indexes in this throw-away database ("after"). Those indexes are not part of
the schema; README.md says which ones a migration should add and why.

    .venv/bin/python benchmarks/fleet/run.py --smoke                 # 20,000 sessions, < 60 s
    .venv/bin/python benchmarks/fleet/run.py --out benchmarks/fleet/results.json   # 1M sessions, minutes
    .venv/bin/python benchmarks/fleet/run.py --reuse                 # measure again without reloading
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg
from sqlalchemy import event, text
from sqlmodel import Session, select

from pipelet_app.auth import Principal
from pipelet_app.db import get_engine, reset_engine, session_scope
from pipelet_app.db.models import ChargingSession, Driver, Role, SessionSource, Tenant, TenantKind, User
from pipelet_app.db.types import utcnow
from pipelet_app.fleet import queries
from pipelet_app.fleet.cursor import encode_cursor
from pipelet_app.fleet.queries import SessionFilter, list_sessions, solar_share_by_driver

ADMIN_URL = os.environ.get("PIPELET_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PAGE = 100  # the API's default page size
GOAL_PAGE_P95_MS = 50.0
GOAL_SOLAR_MS = 300.0
GOAL_DASHBOARD_MS = 2000.0

# Share of drivers per fleet: one big fleet (the one the goals are measured on), mid-size ones, and a
# tiny one, because a fleet owning 0.5 % of the rows is the hard case for "newest first" pages.
FLEET_WEIGHTS = (0.60, 0.25, 0.10, 0.045, 0.005)

# Candidate indexes, created only in the benchmark database for the "after" figures (see README.md).
# `driver_start_cover` is the recommendation; `start_id` is measured on request (`--candidates`) to show
# that the planner does not need it for cursor pages.
CANDIDATES = {
    "driver_start_cover": "CREATE INDEX bench_ix_sessions_driver_start_cover ON op_charging_sessions "
    "(driver_id, start_utc, id) INCLUDE (source, energy_wh, solar_wh)",
    "start_id": "CREATE INDEX bench_ix_sessions_start_id ON op_charging_sessions (start_utc, id)",
}

# (brand, gives a PV/grid split): sessions of brands without a split count whole as PV (estimated).
PV_BRANDS = (("enphase", True), ("fronius", True), ("sma", True), ("solaredge", False), ("hoymiles", False))
SESSION_COLUMNS = (
    "transaction_id",
    "station_id",
    "id_tag",
    "reason",
    "source",
    "driver_id",
    "start_utc",
    "end_utc",
    "started_offline",
    "energy_wh",
    "solar_wh",
    "cost",
    "currency",
    "updated_at",
)


# --------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class DriverProfile:
    """What decides a driver's mix: a home charger (OCPP or PV wallbox, or none) and how much they drive."""

    id: int
    fleet: int
    home: str  # "ocpp", "pv" or "none"
    pv_metered: bool  # an OCPP wallbox at a site whose PV is metered: sessions carry a measured solar part
    brand: str
    brand_split: bool
    token: str
    activity: float


def pg_url(database: str) -> str:
    """The benchmark database on the same server as the admin URL."""
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"


def admin(sql: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def database_exists(name: str) -> bool:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def use_database(url: str, pg_timezone: str | None = None) -> None:
    """Point the app (its settings and engine) at the benchmark database, as DATABASE_URL does in prod.

    `pg_timezone` sets the server-side TimeZone of the app's connections, as a server configured in
    another zone would (PostgreSQL's `timezone` defaults to the zone of the machine initdb ran on).
    """
    if pg_timezone:
        url += f"?options=-c%20timezone%3D{pg_timezone}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("PIPELET_SECRET_KEY", "benchmark-secret-not-for-production")
    os.environ["API_RATE_LIMIT_PER_MINUTE"] = "100000000"  # measure the queries, not the rate limiter
    reset_engine()


def create_tenants_and_drivers(rng: random.Random, drivers: int) -> list[DriverProfile]:
    """Fleets, one manager login each, and drivers, through the ORM (a few thousand rows at most)."""
    counts = [max(1, round(drivers * w)) for w in FLEET_WEIGHTS]
    counts[0] += drivers - sum(counts)
    profiles: list[DriverProfile] = []
    with session_scope() as db:
        for index, count in enumerate(counts):
            tenant = Tenant(name=f"Bench Fleet {index}", slug=f"bench-fleet-{index}", kind=TenantKind.FLEET)
            db.add(tenant)
            db.flush()
            db.add(
                User(
                    email=f"manager@fleet{index}.bench",
                    name=f"Manager {index}",
                    role=Role.FLEET_MANAGER,
                    tenant_id=tenant.id,
                )
            )
            rows = [
                Driver(fleet_id=tenant.id, name=f"Driver {index}-{n:04d}", email=f"d{n}@fleet{index}.bench")
                for n in range(count)
            ]
            db.add_all(rows)
            db.flush()
            for n, driver in enumerate(rows):
                assert driver.id is not None
                home = rng.choices(("ocpp", "pv", "none"), weights=(55, 30, 15))[0]
                brand, split = rng.choice(PV_BRANDS)
                profiles.append(
                    DriverProfile(
                        id=driver.id,
                        fleet=index,
                        home=home,
                        pv_metered=home == "ocpp" and rng.random() < 0.3,
                        brand=brand,
                        brand_split=split,
                        token=f"F{index}T{n:05d}",
                        activity=rng.lognormvariate(0, 0.5),
                    )
                )
    return profiles


def session_rows(
    rng: random.Random, profiles: list[DriverProfile], count: int, end: datetime, days: int
) -> list[tuple]:
    """`count` sessions as COPY rows, in the order they would have arrived (so ids follow arrival time).

    Live sources (OCPP, PV cloud) arrive when the session ends; public charging is imported from the
    monthly CSV of the charging card provider, so those rows arrive up to a month after they happened.
    """
    first_day = (end - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    owners = rng.choices(profiles, weights=[p.activity for p in profiles], k=count)
    rows: list[tuple[datetime, tuple]] = []
    for n, driver in enumerate(owners):
        source = "public"
        if driver.home != "none" and rng.random() < 0.7:
            source = "ocpp-wallbox" if driver.home == "ocpp" else "pv-inverter"
        day = first_day + timedelta(days=rng.randrange(days))
        if source == "public":
            hour, energy, power = (
                rng.uniform(6, 20),
                rng.uniform(8_000, 60_000),
                rng.choice((11e3, 50e3, 150e3)),
            )
        elif source == "ocpp-wallbox":
            hour, energy, power = rng.uniform(15, 23), rng.uniform(4_000, 40_000), rng.choice((7.4e3, 11e3))
        else:
            hour, energy, power = rng.uniform(8, 15), rng.uniform(2_000, 25_000), rng.uniform(1.4e3, 7.4e3)
        start = day + timedelta(hours=hour)
        if start >= end:
            start -= timedelta(days=1)
        stop = start + timedelta(hours=energy / power * rng.uniform(1.0, 1.3))
        solar: float | None = None
        if source == "pv-inverter":
            solar = energy * rng.uniform(0.35, 1.0) if driver.brand_split else None
            station, tag, reason, cost = (
                f"{driver.brand}-{driver.id:06d}",
                f"pv-{driver.brand}",
                rng.choice(("pv-native", "pv-reconstructed")),
                None,
            )
        elif source == "ocpp-wallbox":
            solar = energy * rng.uniform(0.0, 0.8) if driver.pv_metered else None
            station, tag, reason, cost = (
                f"CP-{driver.id:06d}",
                driver.token,
                rng.choice(("EVDisconnected", "Local", "Remote")),
                round(energy * 0.30 / 1000, 2),
            )
        else:
            station, tag, reason, cost = (
                f"DE*ION*E{rng.randrange(1, 5000):05d}",
                f"EMP-{driver.token}",
                "Imported",
                round(energy * 0.59 / 1000, 2),
            )
        if solar is not None and rng.random() < 0.001:  # the rule's edge cases, as clouds deliver them
            solar = rng.choice((-25.0, energy * 1.5))
        if source == "public":
            next_month = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
            arrival = next_month + timedelta(days=rng.uniform(0, 5))
        else:
            arrival = stop + timedelta(minutes=rng.uniform(0, 30 if source == "pv-inverter" else 1))
        row = (
            f"bench-{n:08d}",
            station,
            tag,
            reason,
            source,
            driver.id,
            start,
            stop,
            False,
            round(energy, 1),
            None if solar is None else round(solar, 1),
            cost,
            "EUR",
            arrival,
        )
        rows.append((arrival, row))
    rows.sort(key=lambda pair: pair[0])
    return [row for _, row in rows]


def load(database: str, sessions: int, drivers: int, days: int, seed: int) -> dict[str, float]:
    """Fresh database, migrated, filled; returns the seconds each step took."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{database}"')
    use_database(pg_url(database))
    from pipelet_app.cli.db import upgrade_database

    upgrade_database()
    timings["migrate_s"] = time.perf_counter() - started

    step = time.perf_counter()
    rng = random.Random(seed)
    profiles = create_tenants_and_drivers(rng, drivers)
    end = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    rows = session_rows(rng, profiles, sessions, end, days)
    timings["generate_s"] = time.perf_counter() - step

    step = time.perf_counter()
    with psycopg.connect(pg_url(database), autocommit=True) as conn:
        # Indexes are dropped for the load and rebuilt from their own definitions: building an index
        # once is far faster than maintaining six of them row by row, and the schema ends up identical.
        definitions = [
            r[0]
            for r in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'op_charging_sessions' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
        ]
        names = [
            r[0]
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'op_charging_sessions' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
        ]
        for name in names:
            conn.execute(f'DROP INDEX "{name}"')
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY op_charging_sessions ({', '.join(SESSION_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        timings["copy_s"] = time.perf_counter() - step
        step = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '256MB'")
        for definition in definitions:
            conn.execute(definition)
        timings["index_s"] = time.perf_counter() - step
        step = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) op_charging_sessions")
        conn.execute("VACUUM (ANALYZE) drivers")
        conn.execute(
            "CREATE TABLE bench_meta AS SELECT %s::int AS sessions, %s::int AS drivers, %s::int AS days, "
            "now() AS loaded_at",
            (sessions, drivers, days),
        )
        timings["vacuum_analyze_s"] = time.perf_counter() - step
    timings["total_s"] = time.perf_counter() - started
    return timings


# --------------------------------------------------------------------------------------- measuring


@dataclass
class Timing:
    """Wall-clock samples of one scenario, in milliseconds."""

    name: str
    samples: list[float]
    rows: int = 0
    note: str = ""

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n": len(self.samples),
            "p50_ms": round(self.p50, 2),
            "p95_ms": round(self.p95, 2),
            "min_ms": round(min(self.samples), 2),
            "max_ms": round(max(self.samples), 2),
            "rows": self.rows,
            "note": self.note,
        }


@dataclass
class Phase:
    """One measurement pass (before or after the candidate indexes).

    The load average is recorded because the benchmark machine is shared: a p95 taken while another
    process holds both cores is not the query's fault, and the reader should be able to tell.
    """

    label: str
    timings: list[Timing] = field(default_factory=list)
    plans: dict[str, str] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)
    load_average: list[float] = field(default_factory=list)

    def by_name(self) -> dict[str, Timing]:
        return {t.name: t for t in self.timings}


@dataclass(frozen=True)
class Variant:
    """A schema state to time: the candidate indexes it hides from the planner.

    Hiding is `DROP INDEX` inside the sample's own transaction, rolled back afterwards, so "before" and
    "after" samples alternate one by one on the same data and under the same machine load. On a shared
    2-core box, two passes run minutes apart are not comparable; interleaved samples are.
    """

    label: str
    hide: tuple[str, ...] = ()


def sample(fn: Callable[[Session], int], variant: Variant) -> tuple[float, int]:
    """One call of `fn` in its own session, as each API request has; returns (ms, rows)."""
    with Session(get_engine(), expire_on_commit=False) as db:
        for name in variant.hide:
            db.execute(text(f'DROP INDEX "{name}"'))
        start = time.perf_counter()
        rows = fn(db)
        elapsed = (time.perf_counter() - start) * 1000
        db.rollback()
    return elapsed, rows


def timed(
    fn: Callable[[Session], int], repeat: int, variants: list[Variant], warmup: int = 2
) -> dict[str, tuple[list[float], int]]:
    """`repeat` samples per variant, alternating variants (and their order) sample by sample."""
    for variant in variants:
        for _ in range(warmup):
            sample(fn, variant)
    samples: dict[str, list[float]] = {v.label: [] for v in variants}
    rows: dict[str, int] = {}
    for i in range(repeat):
        for variant in variants if i % 2 == 0 else list(reversed(variants)):
            ms, rows[variant.label] = sample(fn, variant)
            samples[variant.label].append(ms)
    return {label: (samples[label], rows[label]) for label in samples}


@contextmanager
def captured_sql() -> Iterator[list[tuple[str, Any]]]:
    """The statements the real code sends, so EXPLAIN shows exactly the query that was timed."""
    statements: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def explain(fn: Callable[[Session], Any], marker: str, variant: Variant) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the last statement `fn` sends that mentions `marker`."""
    with Session(get_engine(), expire_on_commit=False) as db:
        for name in variant.hide:
            db.execute(text(f'DROP INDEX "{name}"'))
        with captured_sql() as statements:
            fn(db)
        matching = [(s, p) for s, p in statements if marker in s]
        if not matching:
            return "(no statement captured)"
        statement, params = matching[-1]
        lines = db.connection().exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).all()
        db.rollback()
    return "\n".join(line[0] for line in lines)


def offset_page(db: Session, principal: Principal, flt: SessionFilter, offset: int, limit: int) -> list[dict]:
    """The baseline: the very query of `list_sessions`, but positioned with OFFSET instead of a cursor."""
    query = (
        select(
            ChargingSession,
            Driver.name,
            queries._solar_wh_sql(),
            queries._estimated_sql(),
            queries._solar_pending_sql(utcnow()),
        )
        .join(Driver, Driver.id == ChargingSession.driver_id)
        .where(Driver.fleet_id == principal.tenant_id, *queries._period(flt))
    )
    if flt.driver_id is not None:
        query = query.where(ChargingSession.driver_id == flt.driver_id)
    if flt.source is not None:
        query = query.where(ChargingSession.source == flt.source.value)
    query = query.order_by(ChargingSession.start_utc.desc(), ChargingSession.id.desc())
    rows = db.exec(query.offset(offset).limit(limit + 1)).all()
    return [
        queries._session_out(s, name, solar, est, bool(pending))
        for s, name, solar, est, pending in rows[:limit]
    ]


def cursor_at(db: Session, principal: Principal, flt: SessionFilter, offset: int) -> str | None:
    """The cursor a client holds after reading `offset` rows (setup, not timed; equals walking there)."""
    if offset == 0:
        return None
    row = offset_page(db, principal, flt, offset - 1, 1)
    return encode_cursor(row[0]["start_utc"], row[0]["id"]) if row else None


@dataclass(frozen=True)
class Fleet:
    manager: Principal
    drivers: int
    sessions: int


def fleets() -> list[Fleet]:
    """The benchmark fleets, biggest first, each with its manager's principal."""
    out = []
    with session_scope() as db:
        for user in db.exec(select(User).where(User.email.like("manager@fleet%.bench")).order_by(User.id)):
            drivers = db.exec(select(Driver.id).where(Driver.fleet_id == user.tenant_id)).all()
            count = db.execute(
                text(
                    "SELECT count(*) FROM op_charging_sessions s JOIN drivers d ON d.id = s.driver_id "
                    "WHERE d.fleet_id = :f"
                ),
                {"f": user.tenant_id},
            ).scalar_one()
            out.append(Fleet(Principal.of(user), len(drivers), int(count)))
    return out


def typical_driver(principal: Principal) -> tuple[int, int]:
    """The fleet's driver with the median number of sessions, and that number."""
    with session_scope() as db:
        rows = db.execute(
            text(
                "SELECT s.driver_id, count(*) FROM op_charging_sessions s "
                "JOIN drivers d ON d.id = s.driver_id WHERE d.fleet_id = :f "
                "GROUP BY s.driver_id ORDER BY count(*), s.driver_id"
            ),
            {"f": principal.tenant_id},
        ).all()
    driver_id, count = rows[len(rows) // 2]
    return int(driver_id), int(count)


def measure(variants: list[Variant], repeat: int, end: datetime) -> dict[str, Phase]:
    """Every scenario through the real code, each variant sampled in turn; one Phase per variant."""
    phases = {v.label: Phase(v.label) for v in variants}
    all_fleets = fleets()
    big, tiny = all_fleets[0], all_fleets[-1]
    everything = SessionFilter()
    year = SessionFilter(start=end - timedelta(days=365), end=end)
    slow_repeat = max(5, repeat // 5)

    def page(principal: Principal, flt: SessionFilter, cursor: str | None, limit: int = PAGE):
        def run(db: Session) -> int:
            return len(list_sessions(db, principal, flt, cursor, limit)[0])

        return run

    def add(name: str, fn: Callable[[Session], int], n: int = repeat, note: str = "", plan: str = "") -> None:
        results = timed(fn, n, variants)
        line = f"  {name:<58}"
        for variant in variants:
            samples, rows = results[variant.label]
            timing = Timing(name, samples, rows, note)
            phases[variant.label].timings.append(timing)
            if plan:
                phases[variant.label].plans[name] = explain(fn, plan, variant)
            line += f" | p50 {timing.p50:8.2f} p95 {timing.p95:8.2f}"
        print(line)

    load = round(os.getloadavg()[0], 2)
    for phase in phases.values():
        phase.load_average.append(load)
    print(f"\n== {' vs '.join(phases)}, samples interleaved   (load average {load:.1f})")
    sizes = f"{big.drivers} drivers, {big.sessions:,} sessions; tiny: {tiny.drivers}, {tiny.sessions:,}"
    print(f"  big fleet: {sizes}")

    # 1. Pages of the big fleet, newest first: cursor (the real code) vs OFFSET at the same depth.
    depths = {
        "first": 0,
        "1k rows": 1_000,
        "10%": big.sessions // 10,
        "50%": big.sessions // 2,
        "90%": big.sessions * 9 // 10,
        "last": max(0, big.sessions - PAGE // 2),
    }
    with session_scope() as db:
        cursors = {name: cursor_at(db, big.manager, everything, depth) for name, depth in depths.items()}
    for name, depth in depths.items():
        plan = "ORDER BY" if name in ("first", "90%") else ""
        add(f"page/cursor big fleet @{name}", page(big.manager, everything, cursors[name]), plan=plan)

        def by_offset(db: Session, depth: int = depth) -> int:
            return len(offset_page(db, big.manager, everything, depth, PAGE))

        add(
            f"page/OFFSET big fleet @{name}",
            by_offset,
            n=repeat if depth <= 1_000 else slow_repeat,
            note=f"OFFSET {depth}",
            plan="ORDER BY" if name == "90%" else "",
        )

    # 2. Walking: 30 consecutive pages by the next_cursor each page returns, as a client does.
    walked: dict[str, list[float]] = {v.label: [] for v in variants}
    chain: dict[str, str | None] = {v.label: None for v in variants}
    for _ in range(30):
        for variant in variants:

            def next_page(db: Session, label: str = variant.label) -> int:
                rows, chain[label] = list_sessions(db, big.manager, everything, chain[label], PAGE)
                return len(rows)

            walked[variant.label].append(sample(next_page, variant)[0])
    line = f"  {'page/cursor big fleet, walk 30 pages':<58}"
    for variant in variants:
        timing = Timing("page/cursor big fleet, walk 30 pages", walked[variant.label], PAGE)
        phases[variant.label].timings.append(timing)
        line += f" | p50 {timing.p50:8.2f} p95 {timing.p95:8.2f}"
    print(line)

    # 3. Tenant scoping: a fleet with 0.5 % of the rows must not pay for scanning everyone else's.
    with session_scope() as db:
        tiny_deep = cursor_at(db, tiny.manager, everything, tiny.sessions * 9 // 10)
    add("page/cursor tiny fleet @first", page(tiny.manager, everything, None), plan="ORDER BY")
    add("page/cursor tiny fleet @90%", page(tiny.manager, everything, tiny_deep), plan="ORDER BY")

    # 4. Filters: one driver (the portal's drill-down), one source, one month.
    driver_id, driver_rows = typical_driver(big.manager)
    one_driver = SessionFilter(driver_id=driver_id)
    with session_scope() as db:
        driver_deep = cursor_at(db, big.manager, one_driver, max(0, driver_rows - 10))
    add(
        f"page/cursor one driver ({driver_rows} sessions) @first",
        page(big.manager, one_driver, None),
        plan="ORDER BY",
    )
    add(
        f"page/cursor one driver ({driver_rows} sessions) @last",
        page(big.manager, one_driver, driver_deep),
        plan="ORDER BY",
    )
    pv = SessionFilter(source=SessionSource.PV_INVERTER)
    with session_scope() as db:
        pv_deep = cursor_at(db, big.manager, pv, big.sessions // 5)
    add("page/cursor source=pv-inverter @first", page(big.manager, pv, None))
    add("page/cursor source=pv-inverter @deep", page(big.manager, pv, pv_deep), plan="ORDER BY")
    month = SessionFilter(start=end - timedelta(days=400), end=end - timedelta(days=370))
    add("page/cursor one month a year ago @first", page(big.manager, month, None), plan="ORDER BY")

    # 5. Solar share per driver over one year (the goal), two years, and every fleet in turn.
    def share(principal: Principal, flt: SessionFilter):
        def run(db: Session) -> int:
            return len(solar_share_by_driver(db, principal, flt))

        return run

    add(f"solar-share big fleet ({big.drivers} drivers), 1 year", share(big.manager, year), plan="GROUP BY")
    add(
        f"solar-share big fleet ({big.drivers} drivers), 2 years",
        share(big.manager, everything),
        n=slow_repeat,
    )

    def every_fleet(db: Session) -> int:
        return sum(len(solar_share_by_driver(db, f.manager, year)) for f in all_fleets)

    total_drivers = sum(f.drivers for f in all_fleets)
    add(f"solar-share every fleet in turn ({total_drivers} drivers), 1 year", every_fleet, n=slow_repeat)

    # 6. The dashboard's data load, as FleetState.load calls it (default period: the last 30 days),
    #    for a whole year, and the drill-down's first page.
    from pipelet_app.portals.fleet import data as portal

    def overview(start: str = "", stop: str = ""):
        def run(db: Session) -> int:
            return len(portal.fleet_overview(db, big.manager, start, stop)["drivers"])

        return run

    today = end.date()
    add("dashboard fleet_overview, default period (30 days)", overview(), plan="GROUP BY")
    add(
        "dashboard fleet_overview, one year",
        overview((today - timedelta(days=364)).isoformat(), today.isoformat()),
        n=slow_repeat,
    )
    if hasattr(portal, "driver_sessions"):
        first = (today - timedelta(days=364)).isoformat()

        def drill(db: Session) -> int:
            return len(
                portal.driver_sessions(db, big.manager, driver_id, first, today.isoformat())["sessions"]
            )

        add("dashboard driver drill-down, one year, first page", drill)
    load = round(os.getloadavg()[0], 2)
    for phase in phases.values():
        phase.load_average.append(load)
    return phases


def walk_check(phase: Phase) -> None:
    """Correctness, not speed: every page of the tiny fleet, walked by cursor, is every row once."""
    tiny = fleets()[-1]
    seen: list[int] = []
    cursor = None
    while True:
        with session_scope() as db:
            rows, cursor = list_sessions(db, tiny.manager, SessionFilter(), cursor, PAGE)
        seen += [r["id"] for r in rows]
        if cursor is None or len(seen) > 2 * tiny.sessions:
            break
    phase.checks["walk_tiny_fleet"] = {
        "expected_rows": tiny.sessions,
        "rows_served": len(seen),
        "distinct_rows": len(set(seen)),
        "complete": len(seen) == len(set(seen)) == tiny.sessions,
    }
    print(f"  walk every page of the tiny fleet: {phase.checks['walk_tiny_fleet']}")


def measure_http(phase: Phase, repeat: int, end: datetime) -> None:
    """Through FastAPI (auth, rate limit, validation, JSON) on the schema as it stands right now.

    Sequential, not interleaved: the app opens its own sessions, so indexes cannot be hidden per request.
    """
    from fastapi.testclient import TestClient

    from pipelet_app.api import build_api
    from pipelet_app.auth.api_keys import create_api_key

    big = fleets()[0]
    with session_scope() as db:
        user = db.get(User, big.manager.user_id)
        assert user is not None
        headers = {"Authorization": f"Bearer {create_api_key(db, user, 'benchmark')[1]}"}
        deep_cursor = cursor_at(db, big.manager, SessionFilter(), big.sessions * 9 // 10) or ""
    year = {"from": (end - timedelta(days=365)).isoformat(), "to": end.isoformat()}
    month = {"from": (end - timedelta(days=30)).isoformat(), "to": end.isoformat()}
    print(f"  HTTP, {phase.label}   (load average {os.getloadavg()[0]:.1f})")
    with TestClient(build_api()) as client:

        def get(path: str, params: dict[str, str]) -> Callable[[Session], int]:
            def run(_db: Session) -> int:
                response = client.get(path, params=params, headers=headers)
                assert response.status_code == 200, response.text[:300]
                return len(response.content)

            return run

        cases = [
            ("HTTP GET /fleet/sessions @first", "/api/v1/fleet/sessions", {}, repeat),
            (
                "HTTP GET /fleet/sessions @90% (cursor)",
                "/api/v1/fleet/sessions",
                {"cursor": deep_cursor},
                repeat,
            ),
            ("HTTP GET /fleet/solar-share, 1 year", "/api/v1/fleet/solar-share", year, repeat),
            (
                "HTTP GET /fleet/sessions.csv, last 30 days",
                "/api/v1/fleet/sessions.csv",
                month,
                max(3, repeat // 10),
            ),
        ]
        for name, path, params, n in cases:
            samples, size = timed(get(path, params), n, [Variant(phase.label)], warmup=1)[phase.label]
            timing = Timing(name, samples, size, "rows = response bytes")
            phase.timings.append(timing)
            print(f"  {name:<58} | p50 {timing.p50:8.2f} p95 {timing.p95:8.2f}   ({size:,} bytes)")


def create_bench_indexes(database: str, candidates: list[str]) -> dict[str, Any]:
    """The candidate indexes, BENCHMARK-ONLY, with build time and size (what a migration would cost)."""
    built: dict[str, Any] = {}
    with psycopg.connect(pg_url(database), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        for name in candidates:
            start = time.perf_counter()
            conn.execute(CANDIDATES[name])
            seconds = round(time.perf_counter() - start, 1)
            index = CANDIDATES[name].split()[2]
            size = conn.execute("SELECT pg_size_pretty(pg_relation_size(%s::regclass))", (index,)).fetchone()
            built[index] = {"ddl": CANDIDATES[name], "build_s": seconds, "size": size[0] if size else "?"}
        conn.execute("ANALYZE op_charging_sessions")
    return built


def drop_bench_indexes(database: str) -> None:
    """Back to the schema as migrated: every index this script created is named bench_*."""
    with psycopg.connect(pg_url(database), autocommit=True) as conn:
        names = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'op_charging_sessions' "
            "AND indexname LIKE 'bench\\_%'"
        ).fetchall()
        for (name,) in names:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("ANALYZE op_charging_sessions")


def server_facts(database: str) -> dict[str, Any]:
    """The settings and schema the figures depend on, recorded with them so a rerun can be compared."""
    with psycopg.connect(pg_url(database), autocommit=True) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in (
                "server_version",
                "shared_buffers",
                "work_mem",
                "jit",
                "max_parallel_workers_per_gather",
            )
        }
        settings["table_size"] = conn.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('op_charging_sessions'))"
        ).fetchone()[0]  # type: ignore[index]
        settings["indexes"] = [
            r[0]
            for r in conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'op_charging_sessions'")
        ]
    return settings


# ------------------------------------------------------------------------------------------ report


def compare(before: Phase, after: Phase | None) -> None:
    """Before and after side by side: the index decision is read off this table."""
    b = before.by_name()
    a = after.by_name() if after else {}
    print("\n== Results (ms; before = schema as migrated, after = + BENCHMARK-ONLY indexes)")
    print(
        f"{'scenario':<60} {'p50':>9} {'p95':>9}" + (f" {'p50 after':>10} {'p95 after':>10}" if after else "")
    )
    for name, t in b.items():
        line = f"{name:<60} {t.p50:9.2f} {t.p95:9.2f}"
        if name in a:
            line += f" {a[name].p50:10.2f} {a[name].p95:10.2f}"
        print(line)


def goals(phase: Phase) -> dict[str, Any]:
    """The issue's goals, judged on one phase."""
    t = phase.by_name()
    pages = [x for n, x in t.items() if n.startswith("page/cursor")]
    first = t["page/cursor big fleet @first"].p50
    deepest = max(t[n].p50 for n in t if n.startswith("page/cursor big fleet @"))
    share = next(x for n, x in t.items() if n.startswith("solar-share big fleet") and "1 year" in n)
    dash = t["dashboard fleet_overview, default period (30 days)"]
    return {
        "page_p95_max_ms": round(max(x.p95 for x in pages), 2),
        "page_p95_goal_met": max(x.p95 for x in pages) < GOAL_PAGE_P95_MS,
        "deep_vs_first_p50_ratio": round(deepest / first, 2),
        "solar_share_1y_p95_ms": round(share.p95, 2),
        "solar_share_goal_met": share.p95 < GOAL_SOLAR_MS,
        "dashboard_data_p95_ms": round(dash.p95, 2),
        "dashboard_goal_met": dash.p95 < GOAL_DASHBOARD_MS,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--drivers", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=50, help="samples per scenario (OFFSET deep: a fifth)")
    parser.add_argument("--database", default=None, help="default pipelet_bench_fleet[_smoke]")
    parser.add_argument("--smoke", action="store_true", help="20,000 sessions, fewer samples, < 60 s")
    parser.add_argument("--reuse", action="store_true", help="measure the already loaded database again")
    parser.add_argument("--no-after", action="store_true", help="skip the candidate-index pass")
    parser.add_argument("--no-http", action="store_true", help="skip the TestClient pass")
    parser.add_argument("--no-plans", action="store_true", help="do not print the EXPLAIN plans")
    parser.add_argument(
        "--drop", action="store_true", help="drop the database at the end (smoke always does)"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument(
        "--candidates",
        default="driver_start_cover",
        help=f"comma-separated candidate indexes for the 'after' pass, of: {', '.join(CANDIDATES)}",
    )
    parser.add_argument(
        "--pg-timezone",
        default=None,
        help="server TimeZone for the app's connections (e.g. America/New_York); default: the server's",
    )
    args = parser.parse_args()
    if args.smoke:
        args.sessions, args.repeat = 20_000, 10
    database = args.database or ("pipelet_bench_fleet_smoke" if args.smoke else "pipelet_bench_fleet")

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    load_timings: dict[str, float] = {}
    candidates = [c.strip() for c in args.candidates.split(",") if c.strip()]
    if unknown := set(candidates) - set(CANDIDATES):
        parser.error(f"--candidates: unknown {', '.join(sorted(unknown))}")
    if args.reuse and database_exists(database):
        use_database(pg_url(database), args.pg_timezone)
        drop_bench_indexes(database)
        print(f"reusing {database} (candidate indexes dropped for the 'before' pass)")
    else:
        size = f"{args.sessions:,} sessions, {args.drivers:,} drivers, {args.days} days"
        print(f"loading {size} into {database} …")
        load_timings = load(database, args.sessions, args.drivers, args.days, args.seed)
        print("  " + ", ".join(f"{k} {v:.1f}" for k, v in load_timings.items()))
        use_database(pg_url(database), args.pg_timezone)
    with psycopg.connect(pg_url(database)) as conn:
        loaded = conn.execute("SELECT sessions, drivers, days, loaded_at FROM bench_meta").fetchone()
        end = conn.execute("SELECT max(start_utc) FROM op_charging_sessions").fetchone()[0]  # type: ignore[index]
    end = (end + timedelta(hours=1)).replace(tzinfo=UTC)
    facts = server_facts(database)
    print(f"data: {loaded}; PostgreSQL {facts['server_version']}, table {facts['table_size']}")

    before_label, after_label = "before: schema as migrated", "after: + BENCHMARK-ONLY candidate indexes"
    http_phases: dict[str, Phase] = {before_label: Phase(before_label)}
    if not args.no_http:
        measure_http(http_phases[before_label], args.repeat, end)
    walk_check(http_phases[before_label])
    index_build: dict[str, Any] = {}
    variants = [Variant(before_label)]
    if not args.no_after:
        index_build = create_bench_indexes(database, candidates)
        for name, built in index_build.items():
            print(f"\ncreated BENCHMARK-ONLY index {name}: {built['size']}, built in {built['build_s']} s")
        variants = [Variant(before_label, hide=tuple(index_build)), Variant(after_label)]
    phases = measure(variants, args.repeat, end)
    if not args.no_after:
        http_phases[after_label] = Phase(after_label)
        if not args.no_http:
            measure_http(http_phases[after_label], args.repeat, end)
        walk_check(http_phases[after_label])
    for label, extra in http_phases.items():
        phases[label].timings += extra.timings
        phases[label].checks.update(extra.checks)
    before, after = phases[before_label], phases.get(after_label)
    compare(before, after)
    if not args.no_plans:
        for phase in phases.values():
            for name, plan in phase.plans.items():
                print(f"\n-- EXPLAIN (ANALYZE, BUFFERS) [{phase.label}] {name}\n{plan}")
    verdicts = {"before": goals(before), **({"after": goals(after)} if after else {})}
    print("\n== Goals " + json.dumps(verdicts, indent=2))

    if args.out:
        report = {
            "date": date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "data": {"sessions": loaded[0], "drivers": loaded[1], "days": loaded[2]} if loaded else {},
            "load_s": {k: round(v, 1) for k, v in load_timings.items()},
            "server": facts,
            "pg_timezone": args.pg_timezone or "server default",
            "candidate_indexes": index_build,
            "goals": verdicts,
            "phases": [
                {
                    "label": p.label,
                    "load_average": p.load_average,
                    "checks": p.checks,
                    "timings": [t.as_dict() for t in p.timings],
                    "plans": p.plans,
                }
                for p in phases.values()
            ],
        }
        args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"wrote {args.out}")
    reset_engine()
    if args.smoke or args.drop:
        admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
