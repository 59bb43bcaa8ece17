"""Pricing plans, a charger's plan and multiplier, and the price of a session (rules: docs/pricing.md).

Role and tenant are checked here for every call from the API: operators only; another tenant's plan,
charger or session is reported exactly like a missing one (404). A plan arrives as a JSON document with
amounts as decimal strings; it is validated through domain.pricing, and errors name the field
(`windows[1].start: ...`).

The CSMS calls `record_cost` when it settles a finished session: one look-up of the charger's plan and
site, then the pure engine over the readings the CSMS already loaded. Compiled tariffs are cached per
(plan version, zone, currency), so a stop does not rebuild day timelines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from pipelet_app.auth import InvalidInput, NotFound, Principal, require, require_tenant
from pipelet_app.clock import utcnow
from pipelet_app.db.models import Charger, ChargingSession, MeterValue, PricingPlan, Role, Site
from pipelet_app.domain.pricing import Plan, Price, Rate, Schedule, Tariff, Window, quantum

REGISTER = "Energy.Active.Import.Register"
MAX_WINDOWS = 50
MAX_MULTIPLIER = Decimal(10)
_TARIFFS: dict[tuple, Tariff] = {}


# ------------------------------------------------------------------------------ plan documents


def plan_from_definition(data: Mapping[str, Any]) -> Plan:
    """A Plan from its JSON document; ValueError naming the field (with its path) on bad input."""
    windows = data.get("windows") or []
    if not isinstance(windows, list) or len(windows) > MAX_WINDOWS:
        raise ValueError(f"windows: a list of at most {MAX_WINDOWS}")
    built = tuple(_window(w, f"windows[{i}]") for i, w in enumerate(windows))
    try:
        return Plan(
            base=_rate(data.get("base") or {}, "base"),
            session_fee=_text(data.get("session_fee", "0")),
            idle_fee_per_minute=_text(data.get("idle_fee_per_minute", "0")),
            idle_grace_minutes=data.get("idle_grace_minutes", 0),
            windows=built,
        )
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def definition_of(plan: Plan) -> dict[str, Any]:
    """The stored and returned form: decimals as strings, times as HH:MM."""
    return {
        "base": _rate_out(plan.base),
        "session_fee": str(plan.session_fee),
        "idle_fee_per_minute": str(plan.idle_fee_per_minute),
        "idle_grace_minutes": plan.idle_grace_minutes,
        "windows": [
            {
                "label": w.label,
                "rate": _rate_out(w.rate),
                "start": w.start.strftime("%H:%M"),
                "end": w.end.strftime("%H:%M"),
                "weekdays": sorted(w.weekdays),
                "priority": w.priority,
            }
            for w in plan.windows
        ],
    }


def _text(value: Any) -> Any:
    """JSON numbers arrive as int/float: a float is read through its shortest repr (0.39 -> '0.39')."""
    return repr(value) if isinstance(value, float) else value


def _rate(data: Any, path: str) -> Rate:
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: an object with per_kwh and/or per_hour")
    try:
        return Rate(per_kwh=_text(data.get("per_kwh", "0")), per_hour=_text(data.get("per_hour", "0")))
    except ValueError as exc:
        raise ValueError(f"{path}.{exc}") from None


def _clock(value: Any, path: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{path}: a wall-clock time HH:MM, got {value!r}") from None


def _window(data: Any, path: str) -> Window:
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: an object")
    weekdays = data.get("weekdays", list(range(7)))
    priority = data.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise ValueError(f"{path}.priority: a whole number")
    if not isinstance(weekdays, list) or not all(isinstance(d, int) for d in weekdays):
        raise ValueError(f"{path}.weekdays: a list of 0 (Monday) .. 6 (Sunday)")
    rate = _rate(data.get("rate") or {}, f"{path}.rate")
    try:
        return Window(
            label=str(data.get("label") or ""),
            rate=rate,
            start=_clock(data.get("start"), f"{path}.start"),
            end=_clock(data.get("end"), f"{path}.end"),
            weekdays=frozenset(weekdays),
            priority=priority,
        )
    except ValueError as exc:
        message = str(exc)
        raise ValueError(message if message.startswith(path) else f"{path}.{message}") from None


def _rate_out(rate: Rate) -> dict[str, str]:
    return {"per_kwh": str(rate.per_kwh), "per_hour": str(rate.per_hour)}


# ------------------------------------------------------------------------------ operator API


def _plan_out(row: PricingPlan) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, **row.definition}


def list_plans(db: Session, principal: Principal) -> list[dict[str, Any]]:
    require(principal, Role.OPERATOR)
    rows = db.exec(
        select(PricingPlan).where(PricingPlan.tenant_id == principal.tenant_id).order_by(col(PricingPlan.id))
    ).all()
    return [_plan_out(r) for r in rows]


def create_plan(db: Session, principal: Principal, name: str, definition: Mapping[str, Any]) -> dict:
    require(principal, Role.OPERATOR)
    assert principal.tenant_id is not None
    name = name.strip()
    if not name:
        raise InvalidInput("name: a plan needs a name")
    try:
        plan = plan_from_definition(definition)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    taken = db.exec(
        select(PricingPlan.id).where(PricingPlan.tenant_id == principal.tenant_id, PricingPlan.name == name)
    ).first()
    if taken is not None:
        raise InvalidInput(f"name: your tenant already has a plan called {name!r}")
    row = PricingPlan(tenant_id=principal.tenant_id, name=name, definition=definition_of(plan))
    db.add(row)
    db.commit()
    db.refresh(row)
    return _plan_out(row)


def set_charger_pricing(
    db: Session, principal: Principal, charge_point_id: str, plan_id: int | None, multiplier: Any
) -> dict[str, Any]:
    """A charger's plan (None: no pricing) and multiplier; the plan must be the caller's tenant's."""
    require(principal, Role.OPERATOR)
    charger = db.exec(select(Charger).where(Charger.charge_point_id == charge_point_id)).first()
    if charger is None:
        raise NotFound("Not found.")
    require_tenant(principal, charger.tenant_id)
    try:
        factor = Decimal(_text(multiplier))
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput(f"multiplier: not a number: {multiplier!r}") from None
    if (
        not factor.is_finite()
        or not 0 < factor <= MAX_MULTIPLIER
        or factor != factor.quantize(Decimal("0.001"))
    ):
        raise InvalidInput(f"multiplier: a number above 0 and at most {MAX_MULTIPLIER}, 3 decimals at most")
    if plan_id is not None:
        plan = db.get(PricingPlan, plan_id)
        if plan is None or plan.tenant_id != principal.tenant_id:
            raise InvalidInput(f"plan_id: no plan {plan_id} in your tenant")
    charger.pricing_plan_id = plan_id
    charger.price_multiplier = factor
    db.add(charger)
    db.commit()
    return {"charge_point_id": charger.charge_point_id, "plan_id": plan_id, "multiplier": str(factor)}


def session_cost(db: Session, principal: Principal, transaction_id: str) -> dict[str, Any]:
    """The running (open session: priced up to now) or final price of one of the tenant's sessions."""
    require(principal, Role.OPERATOR)
    session = db.exec(select(ChargingSession).where(ChargingSession.transaction_id == transaction_id)).first()
    charger = db.get(Charger, session.charger_id) if session and session.charger_id else None
    if session is None or charger is None:
        raise NotFound("Not found.")
    require_tenant(principal, charger.tenant_id)
    return cost_of(db, charger, session)


def cost_of(db: Session, charger: Charger, session: ChargingSession) -> dict[str, Any]:
    """The price of a session whose access the caller has already checked (the operator's tenant above;
    the pay page and the receipt by the payment's own secret token)."""
    final = session.end_utc is not None
    price = None
    if charger.pricing_plan_id is not None:
        rows = db.exec(
            select(MeterValue.timestamp, MeterValue.value)
            .where(
                MeterValue.session_id == session.id,
                MeterValue.measurand == REGISTER,
                col(MeterValue.phase).is_(None),
            )
            .order_by(col(MeterValue.timestamp))
        ).all()
        readings = [(ts, value) for ts, value in rows]
        stop = session.meter_stop_wh if final else None
        price = price_of(
            db, charger, session, session.meter_start_wh, readings, stop, session.end_utc or utcnow()
        )
    if final and session.cost is not None and (price is None or price.total != session.cost):
        # The charger's plan or multiplier changed since the session was priced: the stored price is
        # what was billed; its breakdown is not kept, so it is shown as one line.
        amount = str(Decimal(session.cost).quantize(quantum(session.currency)))
        label = "Total (priced when the session ended)"
        return {
            "total": amount,
            "currency": session.currency,
            "final": True,
            "lines": [{"label": label, "amount": amount}],
        }
    if price is None:
        return {"total": None, "currency": session.currency, "final": final, "lines": []}
    return {
        "total": str(price.total),
        "currency": price.currency,
        "final": final,
        "lines": [{"label": line.label, "amount": str(line.amount)} for line in price.lines],
    }


# ------------------------------------------------------------------------------ pricing sessions


def tariff_of(plan_row: PricingPlan, site: Site | None) -> Tariff:
    zone_name = site.timezone if site else "UTC"
    currency = site.currency if site else "EUR"
    key = (plan_row.id, plan_row.updated_at, zone_name, currency)
    tariff = _TARIFFS.get(key)
    if tariff is None:
        if len(_TARIFFS) > 256:
            _TARIFFS.clear()
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        plan = plan_from_definition(plan_row.definition)
        tariff = _TARIFFS[key] = Tariff(Schedule(plan, zone), currency)
    return tariff


def charger_tariff(db: Session, charger: Charger) -> Tariff | None:
    """The tariff a charger prices by (its plan in its site's zone and currency), None without a plan.

    One lookup for the settled price and the charger's screen (running_cost), so the two cannot drift
    apart on which plan, zone or currency a session is priced in."""
    if charger.pricing_plan_id is None:
        return None
    plan_row = db.get(PricingPlan, charger.pricing_plan_id)
    if plan_row is None:
        return None
    site = db.get(Site, charger.site_id) if charger.site_id is not None else None
    return tariff_of(plan_row, site)


def price_of(
    db: Session,
    charger: Charger,
    session: ChargingSession,
    start_wh: float | None,
    readings: Iterable[tuple[datetime, float]],
    stop_wh: float | None,
    end: datetime,
) -> Price | None:
    """The session's price from its start register, register readings and stop (None: no plan, or no
    register at all to count energy from). Without a start register energy counts from the first
    reading."""
    tariff = charger_tariff(db, charger)
    if tariff is None:
        return None
    start = session.start_utc.timestamp()
    points = [] if start_wh is None else [(start, start_wh)]
    points += sorted((ts.timestamp(), wh) for ts, wh in readings if ts.timestamp() >= start)
    if not points:
        return None  # no register at all: the energy, so the price, is unknown
    finish = max(end.timestamp(), points[-1][0])
    if stop_wh is not None:
        points.append((finish, stop_wh))
    return tariff.price(points, end=finish, multiplier=charger.price_multiplier)


def record_cost(
    db: Session,
    session: ChargingSession,
    start_wh: float | None,
    readings: Iterable[tuple[datetime, float]],
    stop_wh: float | None,
) -> None:
    """Called by the CSMS when it settles a finished session: store its final cost and currency."""
    if session.charger_id is None or session.end_utc is None:
        return
    charger = db.get(Charger, session.charger_id)
    price = price_of(db, charger, session, start_wh, readings, stop_wh, session.end_utc) if charger else None
    session.cost = price.total if price is not None else None
    if price is not None:
        session.currency = price.currency
