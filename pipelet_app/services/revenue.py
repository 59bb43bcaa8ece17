"""An operator's revenue by site, month or charger, from finished sessions at its own chargers and the
card payments that settled them (rules of the sums: domain/revenue.py). Operators only; a tenant sees
only its own chargers' sessions. The month is the site's local month of the session's end.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from pipelet_app.auth import InvalidInput, Principal, require
from pipelet_app.db.models import Charger, ChargingSession, Payment, Role, Site
from pipelet_app.domain.revenue import Group, SessionMoney, Total, rollup

GROUPS = ("site", "month", "charger")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def revenue(
    db: Session, principal: Principal, by: str, start: datetime | None, end: datetime | None
) -> list[Total]:
    require(principal, Role.OPERATOR)
    if by not in GROUPS:
        raise InvalidInput(f"by: one of {', '.join(GROUPS)}")
    if start and end and end <= start:
        raise InvalidInput("to: must be after from")
    query = (
        select(ChargingSession, Charger.charge_point_id, Site.name, Site.timezone, Payment)
        .join(Charger, Charger.id == ChargingSession.charger_id)
        .join(Site, Site.id == Charger.site_id, isouter=True)
        .join(Payment, Payment.session_id == ChargingSession.id, isouter=True)
        .where(Charger.tenant_id == principal.tenant_id, col(ChargingSession.end_utc).is_not(None))
    )
    if start:
        query = query.where(ChargingSession.end_utc >= start)  # type: ignore[operator]
    if end:
        query = query.where(ChargingSession.end_utc < end)  # type: ignore[operator]
    rows = []
    for session, cp_id, site_name, zone, payment in db.exec(query).all():
        assert session.end_utc is not None
        rows.append(
            SessionMoney(
                site=site_name or "(no site)",
                month=session.end_utc.astimezone(_zone(zone)).strftime("%Y-%m"),
                charger=cp_id,
                currency=session.currency,
                energy_wh=session.energy_wh,
                price=None if session.cost is None else Decimal(session.cost),
                collected=Decimal(payment.captured_amount or 0) if payment else Decimal(0),
                shortfall=Decimal(payment.shortfall or 0) if payment else Decimal(0),
            )
        )
    return rollup(rows, by)  # type: ignore[arg-type]


def as_rows(totals: list[Total], by: Group | str) -> list[dict[str, Any]]:
    return [
        {
            by: t.key,
            "currency": t.currency,
            "sessions": t.sessions,
            "energy_kwh": str(t.energy_kwh),
            "revenue": str(t.revenue),
            "collected": str(t.collected),
            "shortfall": str(t.shortfall),
        }
        for t in totals
    ]
