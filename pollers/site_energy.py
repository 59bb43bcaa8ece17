"""Site-energy jobs: OCPP meter values into site series, and the measured solar share of OCPP sessions.

Both are plain functions over the database; the embedded worker (`runtime.jobs.site_energy_loop`) calls
them every `SITE_ENERGY_TICK_S`, the arq worker from a cron job. Both are idempotent: run twice, same rows.

- `feed_ocpp_meter_values` reads `meter_values` past a stored cursor and turns the samples of chargers that
  are devices of a site (by charge point id and connector) into site samples: `Power.Active.Import` where
  the charger sends it, else the register's rise since its previous sample (none for a register that
  went backwards or an unread 0: `live_power.register_rises`).
- `settle_session_solar` writes `solar_wh` / `solar_estimated` for OCPP sessions at sites with a PV device:
  once a session has ended and its last minute has settled (`SETTLE`), and again whenever late data marks
  minutes of its site dirty.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import Table, and_, delete, func
from sqlmodel import Session, col, select

from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    MeterValue,
    SessionSource,
    Site,
    SiteDevice,
    SiteEnergyDirty,
    SiteEnergyMinute,
    SiteFeedCursor,
    SiteSample,
)
from pipelet_app.db.types import utcnow
from pipelet_app.domain.live_power import register_rises
from pipelet_app.domain.site_energy import (
    LONGEST_SESSION,
    MAX_LATE,
    MINUTE,
    SiteMinute,
    floor_minute,
    session_solar,
    spread_energy,
)
from pipelet_app.site_energy.store import SETTLE, SampleIn, write_batch

log = logging.getLogger("pipelet.site_energy")

FEED = "ocpp-meter-values"
REGISTER = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
MV: Table = MeterValue.__table__  # type: ignore[assignment]


def _charger_devices(db: Session) -> dict[tuple[int, int], tuple[int, int]]:
    """(charger row id, connector) → (site id, device id) for every OCPP charger device."""
    rows = db.exec(
        select(Charger.id, SiteDevice.connector_id, SiteDevice.site_id, SiteDevice.id).join(
            Charger, col(Charger.charge_point_id) == col(SiteDevice.charge_point_id)
        )
    ).all()
    return {(int(c), int(conn)): (int(s), int(d)) for c, conn, s, d in rows if conn is not None}


def _start_position(db: Session, now: datetime) -> int:
    """A new feed starts at the meter values of the last 24 h (older site data is refused anyway)."""
    first = db.execute(select(func.min(MV.c.id)).where(MV.c.timestamp >= now - MAX_LATE)).scalar()
    if first is not None:
        return int(first) - 1
    return int(db.execute(select(func.max(MV.c.id))).scalar() or 0)


def _previous_register(db: Session, charger_id: int, connector_id: int, before_id: int) -> tuple | None:
    return db.execute(
        select(MV.c.timestamp, MV.c.value)
        .where(
            MV.c.charger_id == charger_id,
            MV.c.connector_id == connector_id,
            MV.c.measurand == REGISTER,
            MV.c.phase.is_(None),
            MV.c.id < before_id,
        )
        .order_by(MV.c.id.desc())
        .limit(1)
    ).first()


def feed_ocpp_meter_values(limit: int = 5000, now: datetime | None = None) -> int:
    """Move up to `limit` meter values past the cursor into site samples; returns the samples written."""
    now = now or utcnow()
    with session_scope() as db:
        cursor = db.get(SiteFeedCursor, FEED)
        if cursor is None:
            cursor = SiteFeedCursor(name=FEED, position=_start_position(db, now))
        rows = db.execute(
            select(
                MV.c.id,
                MV.c.charger_id,
                MV.c.connector_id,
                MV.c.timestamp,
                MV.c.measurand,
                MV.c.value,
                MV.c.phase,
            )
            .where(MV.c.id > cursor.position)
            .order_by(MV.c.id)
            .limit(limit)
        ).all()
        if not rows:
            db.add(cursor)
            return 0
        devices = _charger_devices(db)
        power: dict[tuple[int, int, datetime], float] = {}
        registers: dict[tuple[int, int], list[tuple[int, datetime, float]]] = defaultdict(list)
        for row_id, charger_id, connector_id, ts, measurand, value, phase in rows:
            if phase is not None or (charger_id, connector_id) not in devices:
                continue
            if measurand == POWER:
                power[(charger_id, connector_id, ts)] = max(float(value), 0.0)
            elif measurand == REGISTER:
                registers[(charger_id, connector_id)].append((row_id, ts, float(value)))
        for (charger_id, connector_id), points in registers.items():
            previous = _previous_register(db, charger_id, connector_id, points[0][0])
            last = (previous[0], float(previous[1])) if previous is not None else None
            # a late (buffered) sample still follows its time; a fall or an unread 0 gives no sample
            for ts, watts in register_rises(last, [(ts, value) for _row_id, ts, value in points]):
                power.setdefault((charger_id, connector_id, ts), watts)
        samples = []
        for (charger_id, connector_id, ts), watts in power.items():
            if ts < now - MAX_LATE or ts > now + timedelta(minutes=5):
                continue
            site_id, device_id = devices[(charger_id, connector_id)]
            samples.append(SampleIn(site_id, device_id, "charger", ts, watts, None, None, "ocpp"))
        write_batch(db, samples, now)
        cursor.position = int(rows[-1][0])
        cursor.updated_at = now
        db.add(cursor)
        return len(samples)


# ------------------------------------------------------------------------------------ solar share


def _pv_sites(db: Session) -> set[int]:
    return set(db.exec(select(SiteDevice.site_id).where(SiteDevice.kind == "pv").distinct()).all())


def _chargers_of(db: Session, site_ids: set[int]) -> dict[int, int]:
    """charger row id → site id, for the chargers at these sites (claimed into them)."""
    if not site_ids:
        return {}
    rows = db.exec(
        select(Charger.id, Charger.site_id).where(col(Charger.site_id).in_(sorted(site_ids)))
    ).all()
    return {int(c): int(s) for c, s in rows}


def compute_session_solar(db: Session, session: ChargingSession, site_id: int) -> None:
    """Write the session's solar_wh and solar_estimated from its registers and its site's minutes."""
    assert session.end_utc is not None
    registers = db.execute(
        select(MV.c.timestamp, MV.c.value).where(
            MV.c.session_id == session.id, MV.c.measurand == REGISTER, MV.c.phase.is_(None)
        )
    ).all()
    points = [(t, float(v)) for t, v in registers]
    # The start and stop registers bound the first and last interval (not an offline start's 0: the
    # CSMS's rule in ocpp.transactions.effective_start).
    if session.meter_start_wh is not None and (session.meter_start_wh or not session.started_offline):
        points.append((session.start_utc, session.meter_start_wh))
    if session.meter_stop_wh is not None:
        points.append((session.end_utc, session.meter_stop_wh))
    per_minute = spread_energy(session.start_utc, session.end_utc, session.energy_wh, points)
    site_rows = db.exec(
        select(SiteEnergyMinute).where(
            SiteEnergyMinute.site_id == site_id,
            SiteEnergyMinute.minute >= floor_minute(session.start_utc),
            SiteEnergyMinute.minute <= floor_minute(session.end_utc),
        )
    ).all()
    minutes = {
        r.minute: SiteMinute(
            r.pv_w, r.grid_w, r.battery_w, r.battery_soc, r.load_w, r.ev_w, r.load_w is not None
        )
        for r in site_rows
    }
    result = session_solar((wh, minutes.get(minute)) for minute, wh in sorted(per_minute.items()))
    session.solar_wh = round(result.solar_wh, 3)
    session.solar_estimated = result.estimated
    session.updated_at = utcnow()
    db.add(session)


def settle_session_solar(now: datetime | None = None, limit: int = 500) -> int:
    """Solar share for newly ended OCPP sessions at PV sites, and again for those under late data."""
    now = now or utcnow()
    done: set[int] = set()
    with session_scope() as db:
        chargers = _chargers_of(db, _pv_sites(db))
        if not chargers:
            db.execute(delete(SiteEnergyDirty))
            return 0
        horizon = floor_minute(now - SETTLE) - MINUTE
        fresh = db.exec(
            select(ChargingSession)
            .where(
                col(ChargingSession.charger_id).in_(sorted(chargers)),
                ChargingSession.source == SessionSource.OCPP_WALLBOX,
                col(ChargingSession.solar_wh).is_(None),
                col(ChargingSession.start_utc) >= now - MAX_LATE - LONGEST_SESSION,
                col(ChargingSession.end_utc).is_not(None),
                col(ChargingSession.end_utc) < horizon,
            )
            .limit(limit)
        ).all()
        for session in fresh:
            compute_session_solar(db, session, chargers[session.charger_id])  # type: ignore[index]
            done.add(session.id)  # type: ignore[arg-type]
        for dirty in db.exec(select(SiteEnergyDirty)).all():
            site_chargers = [c for c, s in chargers.items() if s == dirty.site_id]
            if site_chargers:
                touched = db.exec(
                    select(ChargingSession).where(
                        col(ChargingSession.charger_id).in_(site_chargers),
                        ChargingSession.source == SessionSource.OCPP_WALLBOX,
                        col(ChargingSession.start_utc) < dirty.to_minute + MINUTE,
                        col(ChargingSession.start_utc) >= dirty.from_minute - LONGEST_SESSION,
                        col(ChargingSession.end_utc) >= dirty.from_minute,
                        col(ChargingSession.end_utc) < horizon,
                    )
                ).all()
                for session in touched:
                    if session.id not in done:
                        compute_session_solar(db, session, dirty.site_id)
                        done.add(session.id)  # type: ignore[arg-type]
            # Only the marks read here go: a batch that widened them meanwhile leaves them for next time.
            db.execute(
                delete(SiteEnergyDirty).where(
                    and_(
                        SiteEnergyDirty.site_id == dirty.site_id,
                        SiteEnergyDirty.from_minute == dirty.from_minute,
                        SiteEnergyDirty.to_minute == dirty.to_minute,
                    )
                )
            )
    if done:
        log.info("solar share written for %d sessions", len(done))
    return len(done)


# ------------------------------------------------------------------------------------ retention

PRUNE = "prune-site-samples"
#: raw samples are needed for late data (24 h) and the surplus loop (minutes); the minutes stay forever
KEEP_SAMPLES = timedelta(hours=48)
PRUNE_SITES_PER_RUN = 200


def prune_samples(now: datetime | None = None, sites_per_run: int = PRUNE_SITES_PER_RUN) -> int:
    """Delete raw samples older than `KEEP_SAMPLES` for the next few sites (a cursor walks all sites).

    Per site, so every DELETE is a range on the primary key (site_id, minute, ...): at 10,000 sites and
    200 a run every 15 s, each site is visited every ~12 minutes; no full scan of a large table.
    """
    now = now or utcnow()
    cutoff = floor_minute(now - KEEP_SAMPLES)
    with session_scope() as db:
        cursor = db.get(SiteFeedCursor, PRUNE) or SiteFeedCursor(name=PRUNE, position=0)
        site_ids = list(
            db.exec(
                select(Site.id)
                .where(col(Site.id) > cursor.position)
                .order_by(col(Site.id))
                .limit(sites_per_run)
            ).all()
        )
        deleted = 0
        for site_id in site_ids:
            result = db.execute(
                delete(SiteSample).where(col(SiteSample.site_id) == site_id, col(SiteSample.minute) < cutoff)
            )
            deleted += result.rowcount or 0  # type: ignore[attr-defined]
        cursor.position = int(site_ids[-1]) if len(site_ids) == sites_per_run else 0
        cursor.updated_at = now
        db.add(cursor)
    return deleted
