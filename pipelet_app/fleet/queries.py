"""Sessions and solar share of one fleet, filtered and paginated in the database.

Every function takes the caller's principal and scopes to drivers of the caller's own fleet; a driver of
another fleet is reported exactly like a driver that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, literal, tuple_
from sqlmodel import Session, select

from pipelet_app.auth import InvalidInput, NotFound, Principal, require
from pipelet_app.db.models import Charger, ChargingSession, Driver, Role, SessionSource, SiteDevice
from pipelet_app.db.types import utcnow
from pipelet_app.domain.meter_energy import parse_flags
from pipelet_app.domain.site_energy import LONGEST_SESSION, MAX_LATE
from pipelet_app.domain.solar import solar_share
from pipelet_app.fleet.cursor import decode_cursor, encode_cursor

MAX_PAGE = 1000


@dataclass(frozen=True)
class SessionFilter:
    start: datetime | None = None
    end: datetime | None = None
    driver_id: int | None = None
    source: SessionSource | None = None

    def check(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise InvalidInput("from: must not be after to")


def _fleet_driver(db: Session, principal: Principal, driver_id: int) -> Driver:
    driver = db.get(Driver, driver_id)
    if driver is None or driver.fleet_id != principal.tenant_id:
        raise NotFound(f"driver_id: no driver {driver_id} in your fleet")
    return driver


def _solar_wh_sql():
    """The rule of pipelet_app.domain.solar.session_solar, as a SQL expression."""
    energy = ChargingSession.energy_wh
    measured = case(
        (ChargingSession.solar_wh < 0, literal(0.0)),
        (ChargingSession.solar_wh > energy, energy),
        else_=ChargingSession.solar_wh,
    )
    return case(
        (
            ChargingSession.source == SessionSource.PV_INVERTER.value,
            case((ChargingSession.solar_wh.is_(None), energy), else_=measured),
        ),
        (
            and_(
                ChargingSession.source == SessionSource.OCPP_WALLBOX.value,
                ChargingSession.solar_wh.is_not(None),
            ),
            measured,
        ),
        else_=literal(0.0),
    )


def _solar_pending_sql(now: datetime):
    """1 where a session's solar part is not known yet: it is running, or it is an ended OCPP session at a
    charger of a site with PV metering that pollers.site_energy.settle_session_solar has still to compute
    (its choice, without the 2-minute settling: solar_wh empty, started within MAX_LATE +
    LONGEST_SESSION). A 0 there would read as "no sun"."""
    pv_chargers = (
        select(Charger.id)
        .join(SiteDevice, SiteDevice.site_id == Charger.site_id)  # type: ignore[arg-type]
        .where(SiteDevice.kind == "pv")
    )
    awaited = and_(
        ChargingSession.source == SessionSource.OCPP_WALLBOX.value,
        ChargingSession.solar_wh.is_(None),
        ChargingSession.start_utc >= now - MAX_LATE - LONGEST_SESSION,
        ChargingSession.charger_id.in_(pv_chargers),  # type: ignore[union-attr]
    )
    return case((ChargingSession.end_utc.is_(None), 1), (awaited, 1), else_=0)


def _estimated_sql():
    return case(
        (
            and_(
                ChargingSession.source == SessionSource.PV_INVERTER.value, ChargingSession.solar_wh.is_(None)
            ),
            1,
        ),
        (
            and_(
                ChargingSession.source == SessionSource.OCPP_WALLBOX.value,
                ChargingSession.solar_wh.is_not(None),
                ChargingSession.solar_estimated,
            ),
            1,
        ),
        else_=0,
    )


def _counted():
    """Sessions that count in solar share and reimbursement: not held for an operator's review (a session
    with impossible energy or an undecidable start reading, docs/ocpp-energy-rules.md)."""
    return ChargingSession.review_pending.is_(False)


def _period(flt: SessionFilter) -> list:
    conditions = []
    if flt.start:
        conditions.append(ChargingSession.start_utc >= flt.start)
    if flt.end:
        conditions.append(ChargingSession.start_utc < flt.end)
    return conditions


def list_sessions(
    db: Session, principal: Principal, flt: SessionFilter, cursor: str | None = None, limit: int = 100
) -> tuple[list[dict], str | None]:
    """One page, newest first, ordered by (start_utc, id) so pages never skip or repeat a row."""
    require(principal, Role.FLEET_MANAGER)
    flt.check()
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit: must be between 1 and {MAX_PAGE}")
    query = (
        select(ChargingSession, Driver.name, _solar_wh_sql(), _estimated_sql(), _solar_pending_sql(utcnow()))
        .join(Driver, Driver.id == ChargingSession.driver_id)
        .where(Driver.fleet_id == principal.tenant_id, *_period(flt))
    )
    if flt.driver_id is not None:
        _fleet_driver(db, principal, flt.driver_id)
        query = query.where(ChargingSession.driver_id == flt.driver_id)
    if flt.source is not None:
        query = query.where(ChargingSession.source == flt.source.value)
    if cursor:
        after_start, after_id = decode_cursor(cursor)
        # Typed literal: a bare tuple element skips the UTC column type and compares in the server's zone.
        position = tuple_(literal(after_start, ChargingSession.start_utc.type), after_id)
        query = query.where(tuple_(ChargingSession.start_utc, ChargingSession.id) < position)
    rows = db.exec(
        query.order_by(ChargingSession.start_utc.desc(), ChargingSession.id.desc()).limit(limit + 1)
    ).all()
    page = [
        _session_out(s, name, solar, estimated, bool(pending))
        for s, name, solar, estimated, pending in rows[:limit]
    ]
    last = rows[limit - 1][0] if len(rows) > limit else None
    return page, encode_cursor(last.start_utc, last.id) if last else None


def iter_sessions(db: Session, principal: Principal, flt: SessionFilter, batch: int = 1000) -> Iterator[dict]:
    """All matching sessions, fetched page by page (for CSV export of any size)."""
    cursor = None
    while True:
        page, cursor = list_sessions(db, principal, flt, cursor, batch)
        yield from page
        if cursor is None:
            return


def _session_out(
    s: ChargingSession, driver_name: str, solar_wh: float, estimated: int, pending: bool
) -> dict:
    """A session as the API lists it. While its solar part is not known yet (`_solar_pending_sql`: running,
    or ended and not yet computed) solar_wh is None: a 0 would read as "no sun"."""
    return {
        "id": s.id,
        "transaction_id": s.transaction_id,
        "station_id": s.station_id,
        "id_tag": s.id_tag,
        "reason": s.reason,
        "source": SessionSource(s.source).value,
        "driver_id": s.driver_id,
        "driver_name": driver_name,
        "start_utc": s.start_utc,
        "end_utc": s.end_utc,
        "energy_wh": s.energy_wh,
        "solar_wh": None if pending else float(solar_wh),
        "solar_estimated": False if pending else bool(estimated),
        "cost": float(s.cost) if s.cost is not None else None,  # the API's number (exact in the DB)
        "currency": s.currency,
        "flags": sorted(parse_flags(s.flags)),
        "review_pending": s.review_pending,
    }


def _by_source(source: SessionSource):
    return func.coalesce(
        func.sum(case((ChargingSession.source == source.value, ChargingSession.energy_wh), else_=0.0)), 0.0
    )


def solar_share_by_driver(db: Session, principal: Principal, flt: SessionFilter) -> list[dict]:
    """Per driver of the fleet: energy by source, solar energy and share, aggregated in one SQL query."""
    require(principal, Role.FLEET_MANAGER)
    flt.check()
    join_on = and_(ChargingSession.driver_id == Driver.id, _counted(), *_period(flt))
    query = (
        select(
            Driver.id,
            Driver.name,
            _by_source(SessionSource.OCPP_WALLBOX),
            _by_source(SessionSource.PV_INVERTER),
            _by_source(SessionSource.PUBLIC),
            func.coalesce(func.sum(_solar_wh_sql()), 0.0),
            func.coalesce(func.sum(_estimated_sql()), 0),
        )
        .select_from(Driver)
        .join(ChargingSession, join_on, isouter=True)
        .where(Driver.fleet_id == principal.tenant_id)
        .group_by(Driver.id, Driver.name)
        .order_by(Driver.name, Driver.id)
    )
    if flt.driver_id is not None:
        _fleet_driver(db, principal, flt.driver_id)
        query = query.where(Driver.id == flt.driver_id)
    result = []
    for driver_id, name, ocpp_wh, pv_wh, public_wh, solar_wh, estimated in db.exec(query).all():
        total = float(ocpp_wh + pv_wh + public_wh)
        result.append(
            {
                "driver_id": driver_id,
                "driver_name": name,
                "ocpp_wallbox_wh": float(ocpp_wh),
                "pv_wallbox_wh": float(pv_wh),
                "public_wh": float(public_wh),
                "total_wh": total,
                "solar_wh": float(solar_wh),
                "solar_share": solar_share(total, float(solar_wh)),
                "solar_estimated": int(estimated) > 0,
            }
        )
    return result


def _month(db: Session):
    """The UTC calendar month of a session's start, as 'YYYY-MM', in this database's dialect."""
    if db.get_bind().dialect.name == "postgresql":  # the column holds naive UTC, so no zone conversion
        return func.to_char(ChargingSession.start_utc, "YYYY-MM")
    return func.strftime("%Y-%m", ChargingSession.start_utc)


def monthly_by_source(db: Session, principal: Principal, flt: SessionFilter) -> list[dict]:
    """kWh by source per month for the fleet (or one driver of it), oldest month first."""
    require(principal, Role.FLEET_MANAGER)
    flt.check()
    month = _month(db).label("month")
    query = (
        select(
            month,
            _by_source(SessionSource.OCPP_WALLBOX),
            _by_source(SessionSource.PV_INVERTER),
            _by_source(SessionSource.PUBLIC),
            func.coalesce(func.sum(_solar_wh_sql()), 0.0),
        )
        .join(Driver, Driver.id == ChargingSession.driver_id)
        .where(Driver.fleet_id == principal.tenant_id, _counted(), *_period(flt))
        .group_by(month)
        .order_by(month)
    )
    if flt.driver_id is not None:
        _fleet_driver(db, principal, flt.driver_id)
        query = query.where(ChargingSession.driver_id == flt.driver_id)
    return [
        {
            "month": m,
            "ocpp_wallbox_wh": float(o),
            "pv_wallbox_wh": float(p),
            "public_wh": float(u),
            "solar_wh": float(s),
        }
        for m, o, p, u, s in db.exec(query).all()
    ]


def fleet_driver(db: Session, principal: Principal, driver_id: int) -> Driver:
    """One driver of the caller's fleet (NotFound otherwise)."""
    require(principal, Role.FLEET_MANAGER)
    return _fleet_driver(db, principal, driver_id)
