"""The one writer behind every site-energy source: samples in, minutes re-aggregated, late data marked.

`write_batch` is idempotent: a sample is keyed (site, minute, device, timestamp), so a message delivered
twice (MQTT QoS 1, a feed re-reading its source) is the same row; the minutes it touches are rewritten
from all their samples, never incremented. Samples older than `SETTLE` mark their site's minutes dirty so
`pollers.site_energy.settle_session_solar` recomputes the sessions over them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, case, func, select, text, tuple_
from sqlmodel import Session

from pipelet_app.db.models import (
    SiteEnergyDirty,
    SiteEnergyMinute,
    SiteEvTransaction,
    SiteSample,
)
from pipelet_app.db.types import utcnow
from pipelet_app.domain.site_energy import (
    default_departure,
    default_energy_wh,
    floor_minute,
    site_minute,
)
from pipelet_app.site_energy.payloads import Transaction

#: data for minutes older than this is "late": sessions over them may already have their solar share
SETTLE = timedelta(minutes=2)
CHUNK = 2000  # rows per multi-VALUES statement (PostgreSQL allows 65,535 parameters)

SAMPLES: Table = SiteSample.__table__  # type: ignore[assignment]
MINUTES: Table = SiteEnergyMinute.__table__  # type: ignore[assignment]
DIRTY: Table = SiteEnergyDirty.__table__  # type: ignore[assignment]
TRANSACTIONS: Table = SiteEvTransaction.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class SampleIn:
    site_id: int
    device_id: int
    kind: str
    ts: datetime
    power_w: float
    energy_wh: float | None = None
    soc: float | None = None
    source: str = "mqtt"


@dataclass(frozen=True, slots=True)
class BatchResult:
    samples: int
    minutes: int
    late_sites: int


def _insert(db: Session, table: Table) -> Any:
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _naive(value: Any) -> Any:
    """COPY bypasses the column types: datetimes go in as the naive UTC the columns hold."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _pg_copy_upsert(db: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """PostgreSQL: COPY the rows into a temporary twin of the table, then one INSERT ... SELECT ... ON
    CONFLICT. Building a multi-row INSERT in SQLAlchemy costs more CPU than PostgreSQL spends storing it
    (benchmarks/site_energy); COPY sends the rows as data, compiles nothing. The twin keeps its rows
    until the transaction ends (ON COMMIT DELETE ROWS), so later statements can join the batch's keys."""
    columns = list(rows[0])
    names = ", ".join(columns)
    twin = f"_in_{table.name}"
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in keys)
    cursor = db.connection().connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {twin} (LIKE {table.name}) ON COMMIT DELETE ROWS")
        cursor.execute(f"TRUNCATE {twin}")
        stamps = [i for i, c in enumerate(columns) if isinstance(rows[0][c], datetime)]
        naive: dict[datetime, datetime] = {}  # a batch holds few distinct times: convert each once
        with cursor.copy(f"COPY {twin} ({names}) FROM STDIN") as copy:
            for row in rows:
                values = [row[c] for c in columns]
                for i in stamps:
                    value = values[i]
                    if (converted := naive.get(value)) is None:
                        converted = naive[value] = _naive(value)
                    values[i] = converted
                copy.write_row(values)
        cursor.execute(
            f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {twin} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        )
    finally:
        cursor.close()


def _is_postgres(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def upsert(db: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE every other column (COPY on PostgreSQL, multi-row
    statements elsewhere)."""
    if not rows:
        return
    if _is_postgres(db):
        _pg_copy_upsert(db, table, rows, keys)
        return
    columns = [c for c in rows[0] if c not in keys]
    for chunk in _chunks(rows):
        stmt = _insert(db, table).values(list(chunk))
        stmt = (
            stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns})
            if columns
            else stmt.on_conflict_do_nothing(index_elements=list(keys))
        )
        db.execute(stmt)


def write_batch(db: Session, samples: Sequence[SampleIn], now: datetime | None = None) -> BatchResult:
    """Store samples, rewrite the minutes they touch, mark late ones dirty. The caller commits."""
    now = now or utcnow()
    rows: dict[tuple[int, int, datetime], dict[str, Any]] = {}
    minute_of: dict[datetime, datetime] = {}  # few distinct timestamps per batch: floor each once
    for s in samples:
        if (minute := minute_of.get(s.ts)) is None:
            minute = minute_of[s.ts] = floor_minute(s.ts)
        rows[(s.site_id, s.device_id, s.ts)] = {
            "site_id": s.site_id,
            "minute": minute,
            "device_id": s.device_id,
            "ts": s.ts,
            "kind": s.kind,
            "power_w": s.power_w,
            "energy_wh": s.energy_wh,
            "soc": s.soc,
            "source": s.source,
        }
    upsert(db, SAMPLES, list(rows.values()), ("site_id", "minute", "device_id", "ts"))
    touched: dict[datetime, set[int]] = defaultdict(set)
    for row in rows.values():
        touched[row["minute"]].add(row["site_id"])
    if rows and _is_postgres(db):
        # The batch's keys are still in the COPY twin: one grouped read for every minute touched.
        per_device = db.execute(text(_PG_TOUCHED)).all()
        aware = {m: m.replace(tzinfo=UTC) for m in {r[1] for r in per_device}}
        minutes = _rewrite_minutes(db, [(r[0], aware[r[1]], *r[2:]) for r in per_device], now)
    else:
        minutes = sum(recompute_minutes(db, minute, sorted(sites), now) for minute, sites in touched.items())
    late = _mark_late(db, touched, now)
    return BatchResult(len(rows), minutes, late)


_PG_TOUCHED = """
SELECT s.site_id, s.minute, s.kind, avg(s.power_w), avg(s.soc), count(*)
FROM site_samples s
JOIN (SELECT DISTINCT site_id, minute FROM _in_site_samples) k
  ON k.site_id = s.site_id AND k.minute = s.minute
GROUP BY s.site_id, s.minute, s.device_id, s.kind
"""


def recompute_minutes(db: Session, minute: datetime, site_ids: Sequence[int], now: datetime) -> int:
    """Rewrite these sites' row for `minute` from their samples: each device's mean power, summed by kind."""
    per_device = db.execute(
        select(
            SAMPLES.c.site_id,
            SAMPLES.c.minute,
            SAMPLES.c.kind,
            func.avg(SAMPLES.c.power_w),
            func.avg(SAMPLES.c.soc),
            func.count(),
        )
        .where(SAMPLES.c.minute == minute, SAMPLES.c.site_id.in_(site_ids))
        .group_by(SAMPLES.c.site_id, SAMPLES.c.minute, SAMPLES.c.device_id, SAMPLES.c.kind)
    ).all()
    return _rewrite_minutes(db, per_device, now)


def _rewrite_minutes(db: Session, per_device: Sequence[Any], now: datetime) -> int:
    """UPSERT site minutes from (site, minute, kind, mean power, mean soc, samples) per device."""
    sums: dict[tuple[int, datetime], dict[str, float]] = defaultdict(dict)
    socs: dict[tuple[int, datetime], list[float]] = defaultdict(list)
    counts: dict[tuple[int, datetime], int] = defaultdict(int)
    for site_id, minute, kind, power, soc, count in per_device:
        key = (site_id, minute)
        sums[key][kind] = sums[key].get(kind, 0.0) + float(power)
        if kind == "battery" and soc is not None:
            socs[key].append(float(soc))
        counts[key] += int(count)
    out = []
    for (site_id, minute), by_kind in sums.items():
        key = (site_id, minute)
        soc = math.fsum(socs[key]) / len(socs[key]) if socs[key] else None
        m = site_minute(by_kind, soc)
        out.append(
            {
                "site_id": site_id,
                "minute": minute,
                "pv_w": m.pv_w,
                "grid_w": m.grid_w,
                "battery_w": m.battery_w,
                "battery_soc": m.battery_soc,
                "load_w": m.load_w,
                "ev_w": m.ev_w,
                "ev_solar_w": m.ev_solar_w,
                "samples": counts[key],
                "updated_at": now,
            }
        )
    upsert(db, MINUTES, out, ("site_id", "minute"))
    return len(out)


def _mark_late(db: Session, touched: dict[datetime, set[int]], now: datetime) -> int:
    horizon = floor_minute(now - SETTLE)
    spans: dict[int, tuple[datetime, datetime]] = {}
    for minute, sites in touched.items():
        if minute > horizon:
            continue
        for site_id in sites:
            lo, hi = spans.get(site_id, (minute, minute))
            spans[site_id] = (min(lo, minute), max(hi, minute))
    if not spans:
        return 0
    rows = [{"site_id": s, "from_minute": lo, "to_minute": hi} for s, (lo, hi) in spans.items()]
    for chunk in _chunks(rows):
        stmt = _insert(db, DIRTY).values(list(chunk))
        stmt = stmt.on_conflict_do_update(
            index_elements=["site_id"],
            set_={
                "from_minute": case(
                    (stmt.excluded.from_minute < DIRTY.c.from_minute, stmt.excluded.from_minute),
                    else_=DIRTY.c.from_minute,
                ),
                "to_minute": case(
                    (stmt.excluded.to_minute > DIRTY.c.to_minute, stmt.excluded.to_minute),
                    else_=DIRTY.c.to_minute,
                ),
            },
        )
        db.execute(stmt)
    return len(spans)


#: the message fields a transaction row keeps from earlier messages when a later message leaves them out
_KEPT = ("stop_utc", "current_type", "phases", "used_pins", "max_power_w", "requested_min_wh", "profile_id")
_TX_COLUMNS = (
    "site_id",
    "device_id",
    "transaction_id",
    "state",
    "message_ts",
    "start_utc",
    *_KEPT,
    "requested_max_wh",
    "departure_utc",
    "priority",
    "departure_defaulted",
    "energy_defaulted",
)


def merge_transaction(
    stored: dict[str, Any] | None, site_id: int, device_id: int, tx: Transaction
) -> dict[str, Any]:
    """The row after `tx`: fields the message carries replace the stored ones, fields it leaves out keep
    what is stored (an `Updated` without a priority does not reset the driver's priority to 5). Defaults
    (departure, energy by current type; priority 5) fill only what no message has given yet, and a
    defaulted value is recomputed from what is known now (a later `type: dc` moves a defaulted departure).
    """
    old = stored or {}
    given = {
        "stop_utc": tx.stop,
        "current_type": tx.current_type,
        "phases": tx.phases,
        "used_pins": tx.used_pins,
        "max_power_w": tx.max_power_w,
        "requested_min_wh": tx.requested_min_wh,
        "profile_id": tx.profile_id,
    }
    row: dict[str, Any] = {
        "site_id": site_id,
        "device_id": device_id,
        "transaction_id": tx.transaction_id,
        "state": tx.state,
        "message_ts": tx.ts,
        "start_utc": tx.start,
    }
    for name in _KEPT:
        row[name] = given[name] if given[name] is not None else old.get(name)
    # A stored maximum that was only the fallback from a minimum is not the sender's maximum.
    stored_max = (
        old.get("requested_max_wh")
        if stored
        and not old.get("energy_defaulted")
        and old.get("requested_max_wh") != old.get("requested_min_wh")
        else None
    )
    energy = next(
        (e for e in (tx.requested_max_wh, stored_max, row["requested_min_wh"]) if e is not None), None
    )
    row["requested_max_wh"] = energy if energy is not None else default_energy_wh(row["current_type"])
    row["energy_defaulted"] = energy is None
    departure = tx.departure or (
        old.get("departure_utc") if stored and not old.get("departure_defaulted") else None
    )
    row["departure_utc"] = departure or default_departure(tx.start, row["current_type"])
    row["departure_defaulted"] = departure is None
    row["priority"] = tx.priority if tx.priority is not None else old.get("priority", 5)
    return row


def backfill_transaction(stored: dict[str, Any], tx: Transaction) -> dict[str, Any] | None:
    """A late message (older than the stored row) changes no value a newer message set; it only fills
    what no message has given yet: empty fields, and a departure or energy that is still the default (a
    delayed `Started` with the driver's departure after an `Updated` without one). None: nothing to fill.
    The priority has no such mark (5 may be the sender's), so a late priority is not taken."""
    given = {
        "current_type": tx.current_type,
        "phases": tx.phases,
        "used_pins": tx.used_pins,
        "max_power_w": tx.max_power_w,
        "requested_min_wh": tx.requested_min_wh,
        "profile_id": tx.profile_id,
    }
    row = dict(stored)
    for name, value in given.items():
        if row[name] is None and value is not None:
            row[name] = value
    if row["departure_defaulted"]:
        if tx.departure is not None:
            row["departure_utc"], row["departure_defaulted"] = tx.departure, False
        else:
            row["departure_utc"] = default_departure(row["start_utc"], row["current_type"])
    if row["energy_defaulted"]:
        energy = tx.requested_max_wh if tx.requested_max_wh is not None else row["requested_min_wh"]
        if energy is not None:
            row["requested_max_wh"], row["energy_defaulted"] = energy, False
        else:
            row["requested_max_wh"] = default_energy_wh(row["current_type"])
    return row if row != stored else None


def _stored_transactions(
    db: Session, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], dict[str, Any]]:
    out: dict[tuple[int, str], dict[str, Any]] = {}
    columns = [TRANSACTIONS.c[c] for c in _TX_COLUMNS]
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found = db.execute(
            select(*columns).where(
                tuple_(TRANSACTIONS.c.site_id, TRANSACTIONS.c.transaction_id).in_(list(chunk))
            )
        ).mappings()
        for row in found:
            out[(row["site_id"], row["transaction_id"])] = dict(row)
    return out


def write_transactions(db: Session, items: Sequence[tuple[int, int, Transaction]]) -> int:
    """UPSERT Pleevi transactions (site, device, message), merged into what is stored (`merge_transaction`).

    Messages apply in timestamp order; one older than the stored row only fills what no message gave yet
    (`backfill_transaction`), so a late message never overwrites newer values. Missing departure and
    energy are filled from the default profile of the charger's current type (`domain.site_energy`), and
    the row says which values are defaults.
    """
    by_key: dict[tuple[int, str], list[tuple[int, int, Transaction]]] = defaultdict(list)
    for item in items:
        by_key[(item[0], item[2].transaction_id)].append(item)
    if not by_key:
        return 0
    stored = _stored_transactions(db, list(by_key))
    rows: list[dict[str, Any]] = []
    for key, messages in by_key.items():
        row = stored.get(key)
        changed = False
        for site_id, device_id, tx in sorted(messages, key=lambda m: m[2].ts):
            if row is not None and row["message_ts"] > tx.ts:
                if (filled := backfill_transaction(row, tx)) is not None:
                    row, changed = filled, True
                continue
            row, changed = merge_transaction(row, site_id, device_id, tx), True
        if changed and row is not None:
            rows.append(row)
    if not rows:
        return 0
    columns = [c for c in _TX_COLUMNS if c not in ("site_id", "transaction_id")]
    for chunk in _chunks(rows):
        stmt = _insert(db, TRANSACTIONS).values(list(chunk))
        stmt = stmt.on_conflict_do_update(
            index_elements=["site_id", "transaction_id"],
            set_={c: stmt.excluded[c] for c in columns},
            where=TRANSACTIONS.c.message_ts <= stmt.excluded.message_ts,
        )
        db.execute(stmt)
    return len(rows)
