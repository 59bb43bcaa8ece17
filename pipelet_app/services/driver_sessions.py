"""A driver's own sessions: filtered by date, with solar share, one session in detail, and as CSV.

Shared by the driver portal and `GET /api/v1/me/sessions.csv` (an expense claim's attachment). Every
function checks the driver role and reads only the caller's own driver profile: another driver's session
is reported exactly like a missing one. Solar follows the one rule (`domain.solar`, docs/solar-share.md);
a session held for an operator's review counts no solar and no money until it is released, as in the
fleet's figures. Periods are whole UTC days, like the Fleet API's (docs/time.md).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from pipelet_app.auth import InvalidInput, NotFound, Principal, require
from pipelet_app.db.models import ChargingSession, Driver, IdToken, MeterValue, ReimbursementRate, Role
from pipelet_app.domain import csv_cells
from pipelet_app.domain.live_power import POWER, REGISTER, Reading, power_curve, power_w
from pipelet_app.domain.reimbursement import SessionEnergy, compute_statement
from pipelet_app.domain.solar import session_solar, solar_share

MAX_ROWS = 2_000  # sessions one page or file shows (a driver has a few hundred a year)
CSV_COLUMNS = [
    "transaction_id",
    "start_utc",
    "end_utc",
    "station_id",
    "source",
    "energy_wh",
    "solar_wh",
    "solar_share",
    "solar_estimated",
    "held_for_review",
]


def session_power_w(db: Session, session_id: int) -> float | None:
    """A running session's power now (domain.live_power over its last few whole-charger readings): one
    definition for the operator's charger page and the driver's pages. Scoping is the caller's."""
    rows = db.exec(
        select(MeterValue.timestamp, MeterValue.measurand, MeterValue.value, MeterValue.unit)
        .where(
            MeterValue.session_id == session_id,
            col(MeterValue.phase).is_(None),
            col(MeterValue.measurand).in_([POWER, REGISTER]),
        )
        .order_by(col(MeterValue.timestamp).desc())
        .limit(6)
    ).all()
    return power_w([Reading(*row) for row in rows])


def _driver(db: Session, principal: Principal) -> Driver | None:
    require(principal, Role.DRIVER)
    return db.exec(select(Driver).where(Driver.user_id == principal.user_id)).first()


def my_driver_id(db: Session, principal: Principal) -> int:
    """The caller's driver id (0 for a driver user without a driver row: nothing of theirs to show)."""
    driver = _driver(db, principal)
    return driver.id if driver is not None and driver.id is not None else 0


def my_cards(db: Session, principal: Principal) -> list[IdToken]:
    """The caller's own RFID cards / id tokens, by token (a driver without a record has none)."""
    require(principal, Role.DRIVER)
    driver = _driver(db, principal)
    if driver is None:
        return []
    return list(db.exec(select(IdToken).where(IdToken.driver_id == driver.id).order_by(IdToken.token)).all())


def parse_period(start: str, end: str) -> tuple[datetime | None, datetime | None]:
    """`YYYY-MM-DD` days (end inclusive) → a UTC half-open window; either may be empty (open)."""
    try:
        first = date.fromisoformat(start) if start.strip() else None
        last = date.fromisoformat(end) if end.strip() else None
    except ValueError:
        raise InvalidInput("period: dates must look like 2025-01-31") from None
    if first and last and first > last:
        raise InvalidInput("period: the start is after the end")
    return (
        datetime(first.year, first.month, first.day, tzinfo=UTC) if first else None,
        datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1) if last else None,
    )


def _solar(s: ChargingSession) -> tuple[float, bool]:
    if s.review_pending:
        return 0.0, False
    part = session_solar(str(s.source), s.energy_wh, s.solar_wh, s.solar_estimated)
    return part.solar_wh, part.estimated


def _row(s: ChargingSession) -> dict[str, Any]:
    solar_wh, estimated = _solar(s)
    return {
        "id": s.id,
        "transaction_id": s.transaction_id,
        "start_utc": s.start_utc,
        "end_utc": s.end_utc,
        "station_id": s.station_id,
        "source": str(s.source),
        "energy_wh": s.energy_wh,
        "solar_wh": solar_wh,
        "solar_share": None if s.review_pending else solar_share(s.energy_wh, solar_wh),
        "solar_estimated": estimated,
        "held_for_review": s.review_pending,
    }


def my_sessions(db: Session, principal: Principal, start: str = "", end: str = "") -> list[dict[str, Any]]:
    """The caller's sessions in the period, newest first, each with its solar part and share."""
    driver = _driver(db, principal)
    if driver is None:
        return []
    since, until = parse_period(start, end)
    statement = select(ChargingSession).where(ChargingSession.driver_id == driver.id)
    if since is not None:
        statement = statement.where(col(ChargingSession.start_utc) >= since)
    if until is not None:
        statement = statement.where(col(ChargingSession.start_utc) < until)
    rows = db.exec(
        statement.order_by(col(ChargingSession.start_utc).desc(), col(ChargingSession.id).desc()).limit(
            MAX_ROWS
        )
    ).all()
    return [_row(s) for s in rows]


def monthly_solar(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Energy, solar and share per UTC month of the given rows (held sessions count no energy either,
    so a held session cannot lower the share), oldest month first."""
    energy: dict[str, float] = defaultdict(float)
    solar: dict[str, float] = defaultdict(float)
    for r in rows:
        month = r["start_utc"].astimezone(UTC).strftime("%Y-%m")
        energy[month] += 0.0 if r["held_for_review"] else max(r["energy_wh"], 0.0)
        solar[month] += r["solar_wh"]
    return [
        {
            "month": m,
            "energy_wh": energy[m],
            "solar_wh": solar[m],
            "solar_share": solar_share(energy[m], solar[m]),
        }
        for m in sorted(energy)
    ]


def my_session(db: Session, principal: Principal, session_id: int) -> dict[str, Any]:
    """One of the caller's sessions in detail: duration, power curve, solar/grid split, reimbursement."""
    driver = _driver(db, principal)
    s = db.get(ChargingSession, session_id)
    if driver is None or s is None or s.driver_id != driver.id:
        raise NotFound("Not found.")
    row = _row(s)
    readings = db.exec(
        select(MeterValue.timestamp, MeterValue.measurand, MeterValue.value, MeterValue.unit)
        .where(
            MeterValue.session_id == s.id,
            col(MeterValue.phase).is_(None),
            MeterValue.measurand == REGISTER,
        )
        .order_by(col(MeterValue.timestamp))
        .limit(5_000)
    ).all()
    rate = db.exec(
        select(ReimbursementRate).where(
            ReimbursementRate.fleet_id == driver.fleet_id, ReimbursementRate.source == str(s.source)
        )
    ).first()
    value: Decimal | None = None
    if rate is not None and rate.rate_per_kwh is not None and not s.review_pending:
        statement = compute_statement(
            [SessionEnergy(str(s.source), s.energy_wh)], {str(s.source): rate.rate_per_kwh}
        )
        value = statement.total
    return {
        **row,
        "duration_s": (s.end_utc - s.start_utc).total_seconds() if s.end_utc else None,
        "grid_wh": max(s.energy_wh, 0.0) - row["solar_wh"] if not s.review_pending else None,
        "curve": power_curve([Reading(*r) for r in readings]),
        "power_w": session_power_w(db, s.id) if s.end_utc is None and s.id is not None else None,
        "reimbursement": value,
        "rate_per_kwh": rate.rate_per_kwh if rate is not None else None,
        "currency": rate.currency if rate is not None else "EUR",
    }


def sessions_csv(db: Session, principal: Principal, start: str = "", end: str = "") -> str:
    """The caller's sessions in the period as CSV (UTC times, Wh), cells safe for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in my_sessions(db, principal, start, end):
        share = r["solar_share"]
        writer.writerow(
            csv_cells.record(
                {
                    **r,
                    "start_utc": r["start_utc"].isoformat(),
                    "end_utc": r["end_utc"].isoformat() if r["end_utc"] else "",
                    "energy_wh": f"{r['energy_wh']:.0f}",
                    "solar_wh": f"{r['solar_wh']:.0f}",
                    "solar_share": "" if share is None else f"{share:.4f}",
                    "solar_estimated": "yes" if r["solar_estimated"] else "no",
                    "held_for_review": "yes" if r["held_for_review"] else "no",
                }
            )
        )
    return buffer.getvalue()
