"""An operator's revenue by site, month or charger, from finished sessions at its own chargers and the
card payments that settled them (rules of the sums: domain/revenue.py). Operators only; a tenant sees
only its own chargers' sessions. The month is the site's local month of the session's end.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, NotFound, Principal, require
from pipelet_app.db.models import Charger, ChargingSession, Payment, Role, Site
from pipelet_app.domain.revenue import Group, SessionMoney, Total, members, rollup

GROUPS = ("site", "month", "charger")
_STEP = Decimal("0.00001")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def revenue(
    db: Session, principal: Principal, by: str, start: datetime | None, end: datetime | None
) -> list[Total]:
    return rollup(_sessions(db, principal, by, start, end), by)  # type: ignore[arg-type]


def drill_down(
    db: Session,
    principal: Principal,
    by: str,
    key: str,
    currency: str,
    start: datetime | None,
    end: datetime | None,
) -> list[dict[str, Any]]:
    """The finished sessions behind one revenue figure (group `key` in `currency`), newest first."""
    rows = members(_sessions(db, principal, by, start, end), by, key, currency)  # type: ignore[arg-type]
    out = [
        {
            "transaction_id": r.transaction_id,
            "site": r.site,
            "month": r.month,
            "charger": r.charger,
            "currency": r.currency,
            "energy_kwh": str(Decimal(round(r.energy_wh)) / 1000),
            "price": None if r.price is None else str(r.price),
            "collected": str(r.collected),
            "shortfall": str(r.shortfall),
            "energy_cost": None if r.energy_cost is None else str(r.energy_cost.quantize(Decimal("0.001"))),
        }
        for r in rows
    ]
    return out[::-1]


def set_energy_price(db: Session, principal: Principal, site_id: int, value: Any) -> dict[str, Any]:
    """The site's energy price per kWh (its currency), or None to forget it; audited."""
    require(principal, Role.OPERATOR)
    site = db.get(Site, site_id)
    if site is None or site.tenant_id != principal.tenant_id:
        raise NotFound("No such site in your tenant.")
    price: Decimal | None = None
    if value is not None and str(value).strip() != "":
        try:
            price = Decimal(str(value).strip())
        except InvalidOperation:
            raise InvalidInput(f"per_kwh: not a number: {value!r}") from None
        if not price.is_finite() or not Decimal(0) <= price <= Decimal(100) or price != price.quantize(_STEP):
            raise InvalidInput("per_kwh: from 0 to 100 per kWh, at most 5 decimals")
    before = None if site.energy_price_per_kwh is None else str(Decimal(site.energy_price_per_kwh))
    site.energy_price_per_kwh = price
    db.add(site)
    after = None if price is None else str(price)
    if before != after:
        audit.record(
            db, principal, "site.energy_price", "site", site_id, {"energy_price_per_kwh": [before, after]}
        )
    db.commit()
    return {"site_id": site_id, "currency": site.currency, "per_kwh": after}


def _sessions(
    db: Session, principal: Principal, by: str, start: datetime | None, end: datetime | None
) -> list[SessionMoney]:
    require(principal, Role.OPERATOR)
    if by not in GROUPS:
        raise InvalidInput(f"by: one of {', '.join(GROUPS)}")
    if start and end and end <= start:
        raise InvalidInput("to: must be after from")
    query = (
        select(
            ChargingSession,
            Charger.charge_point_id,
            Site.name,
            Site.timezone,
            Payment,
            Site.energy_price_per_kwh,
        )
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
    for session, cp_id, site_name, zone, payment, energy_price in db.exec(query).all():
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
                energy_price=None if energy_price is None else Decimal(energy_price),
                transaction_id=session.transaction_id,
            )
        )
    return rows


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
            "energy_cost": str(t.energy_cost.quantize(Decimal("0.001"))),
            "margin": str(t.margin.quantize(Decimal("0.001"))),
            "energy_cost_complete": t.energy_cost_complete,
        }
        for t in totals
    ]
