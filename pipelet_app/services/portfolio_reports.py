"""Portfolio reports for an operator (rules: domain/portfolio.py, docs/reports.md): the tenant's sites,
chosen by portfolio, their finished sessions summed per local day, and their stored health months.

Every function requires the operator role and reads only the caller's tenant: a site of another tenant
is "Not found." (404), exactly like a missing one, and an SPV of another tenant is no portfolio.

On PostgreSQL the sessions are summed per (site, local day, currency) in SQL (`AT TIME ZONE` the site's
zone), so a year of 10,000 chargers never crosses the wire row by row (benchmarks/operator); elsewhere
(SQLite) the same buckets are summed in Python by domain.portfolio.buckets. The two are checked against
each other on DST days (tests/integration/reports/test_portfolio_reports.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from pipelet_app.auth import InvalidInput, NotFound, Principal, require
from pipelet_app.clock import utcnow
from pipelet_app.db.models import Charger, ChargingSession, HealthMonth, Role, Site, Spv
from pipelet_app.domain import csv_cells
from pipelet_app.domain import portfolio as rules
from pipelet_app.domain.availability import MonthHealth

MAX_DAYS_BY_STEP = {"month": 3 * 366, "day": 92}
REPORT_PATH = "/api/v1/reports/portfolio"


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name}: a date such as 2026-01-01 (YYYY-MM-DD, the sites' local days)") from None


def period_range(start: str | None, end: str | None, step: str) -> tuple[date, date, rules.Step]:
    """Parse `from` / `to` (local dates, `to` excluded) and `step`. Defaults: the last 12 months
    (month step) or the running month (day step), by the application's clock."""
    if step not in rules.STEPS:
        raise InvalidInput(f"step: one of {', '.join(rules.STEPS)}")
    today = utcnow().date()
    first = today.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    lo, hi = _date(start, "from"), _date(end, "to")
    if hi is None:
        hi = next_month
    if lo is None:
        if step == "day":
            lo = (hi - timedelta(days=1)).replace(day=1)
        else:
            lo = hi.replace(year=hi.year - 1) if hi.day == 1 else hi.replace(day=1, year=hi.year - 1)
    if hi <= lo:
        raise InvalidInput("to: must be after from")
    if (hi - lo).days > MAX_DAYS_BY_STEP[step]:
        raise InvalidInput(f"to: at most {MAX_DAYS_BY_STEP[step]} days after from with step={step}")
    return lo, hi, step  # type: ignore[return-value]


def portfolios(db: Session, principal: Principal) -> list[dict[str, str]]:
    """The portfolios the caller may choose: all sites, each of the tenant's SPVs, sites of no SPV."""
    require(principal, Role.OPERATOR)
    spvs = db.exec(
        select(Spv).where(Spv.sponsor_tenant_id == principal.tenant_id).order_by(col(Spv.name))
    ).all()
    return (
        [{"key": rules.ALL, "name": "All sites"}]
        + [{"key": f"spv:{s.id}", "name": s.name} for s in spvs]
        + [{"key": rules.NO_SPV, "name": "No SPV"}]
    )


def _sites(
    db: Session, principal: Principal, portfolio: str, site_id: int | None
) -> dict[int, rules.SiteInfo]:
    require(principal, Role.OPERATOR)
    choices = {p["key"]: p["name"] for p in portfolios(db, principal)}
    if portfolio not in choices:
        raise InvalidInput(f"portfolio: one of {', '.join(choices)}")
    rows = db.exec(select(Site).where(Site.tenant_id == principal.tenant_id)).all()
    sites = {
        s.id: rules.SiteInfo(s.id, s.name, s.timezone, s.spv_id)
        for s in rows
        if s.id is not None
        and rules.in_portfolio(rules.SiteInfo(s.id, s.name, s.timezone, s.spv_id), portfolio)
    }
    if site_id is not None:
        if site_id not in sites:
            # Another tenant's site, a missing one or one outside the portfolio: the same answer.
            raise NotFound("Not found.")
        sites = {site_id: sites[site_id]}
    return sites


def _buckets(
    db: Session, tenant_id: int, sites: dict[int, rules.SiteInfo], lo: date, hi: date
) -> list[rules.DayBucket]:
    if not sites:
        return []
    start, end = rules.utc_bounds(lo, hi)
    if db.get_bind().dialect.name == "postgresql":
        # The columns hold naive UTC: AT TIME ZONE 'UTC' makes them instants, AT TIME ZONE zone local.
        rows = db.execute(
            text(
                """
                SELECT c.site_id,
                       ((s.end_utc AT TIME ZONE 'UTC') AT TIME ZONE st.timezone)::date AS day,
                       s.currency, count(*), sum(round(s.energy_wh))::bigint,
                       coalesce(sum(s.cost), 0), count(s.cost)
                FROM op_charging_sessions s
                JOIN chargers c ON c.id = s.charger_id
                JOIN sites st ON st.id = c.site_id
                WHERE c.tenant_id = :tenant AND c.site_id = ANY(:ids)
                  AND s.end_utc >= :start AND s.end_utc < :end
                GROUP BY 1, 2, 3
                """
            ),
            {
                "tenant": tenant_id,
                "ids": list(sites),
                "start": start.replace(tzinfo=None),
                "end": end.replace(tzinfo=None),
            },
        ).all()
        return [
            rules.DayBucket(site, day, cur, int(n), int(wh or 0), Decimal(rev), int(priced))
            for site, day, cur, n, wh, rev, priced in rows
            if lo <= day < hi
        ]
    return rules.buckets(_facts(db, tenant_id, sites, lo, hi), sites)


def _facts(
    db: Session, tenant_id: int, sites: dict[int, rules.SiteInfo], lo: date, hi: date
) -> list[rules.SessionFact]:
    if not sites:
        return []
    start, end = rules.utc_bounds(lo, hi)
    query = (
        select(ChargingSession, Charger.charge_point_id, Charger.site_id)
        .join(Charger, Charger.id == ChargingSession.charger_id)
        .where(
            Charger.tenant_id == tenant_id,
            col(Charger.site_id).in_(list(sites)),
            col(ChargingSession.end_utc).is_not(None),
            col(ChargingSession.end_utc) >= start,
            col(ChargingSession.end_utc) < end,
        )
    )
    facts = []
    for session, cp_id, site_id in db.exec(query).all():
        assert session.id is not None and session.end_utc is not None and site_id is not None
        facts.append(
            rules.SessionFact(
                session.id,
                session.transaction_id,
                site_id,
                cp_id,
                session.start_utc,
                session.end_utc,
                session.energy_wh,
                None if session.cost is None else Decimal(session.cost),
                session.currency,
            )
        )
    return facts


def _health(
    db: Session, tenant_id: int, sites: Iterable[int], keys: list[str]
) -> dict[tuple[int, str], MonthHealth]:
    ids = list(sites)
    if not ids or not keys:
        return {}
    rows = db.exec(
        select(HealthMonth).where(
            HealthMonth.scope == "site",
            HealthMonth.tenant_id == tenant_id,
            col(HealthMonth.object_id).in_(ids),
            col(HealthMonth.month).in_(keys),
        )
    ).all()
    return {
        (r.object_id, r.month): MonthHealth(
            r.online_s, r.degraded_s, r.offline_s, r.fault_s, r.faults, r.availability
        )
        for r in rows
    }


def report(
    db: Session,
    principal: Principal,
    portfolio: str = rules.ALL,
    start: str | None = None,
    end: str | None = None,
    step: str = "month",
    site_id: int | None = None,
) -> rules.Report:
    """The report of one portfolio (or one of its sites) over local days [start, end)."""
    lo, hi, st = period_range(start, end, step)
    sites = _sites(db, principal, portfolio, site_id)
    assert principal.tenant_id is not None
    buckets = _buckets(db, principal.tenant_id, sites, lo, hi)
    keys = rules.period_keys(lo, hi, st) if st == "month" else []
    health = _health(db, principal.tenant_id, sites, keys)
    return rules.aggregate(buckets, sites.values(), lo, hi, st, health)


def sessions(
    db: Session,
    principal: Principal,
    portfolio: str = rules.ALL,
    start: str | None = None,
    end: str | None = None,
    step: str = "month",
    period: str | None = None,
    site_id: int | None = None,
) -> list[dict[str, Any]]:
    """The sessions behind one figure of `report` (same arguments, plus the period's key)."""
    lo, hi, st = period_range(start, end, step)
    if period is not None and period not in rules.period_keys(lo, hi, st):
        raise InvalidInput(
            f"period: one of the report's periods ({'YYYY-MM-DD' if st == 'day' else 'YYYY-MM'})"
        )
    sites = _sites(db, principal, portfolio, site_id)
    assert principal.tenant_id is not None
    facts = rules.drill_down(
        _facts(db, principal.tenant_id, sites, lo, hi), sites, lo, hi, st, period, site_id
    )
    return [
        {
            "transaction_id": f.transaction_id,
            "site_id": f.site_id,
            "site": sites[f.site_id].name,
            "charge_point_id": f.charge_point_id,
            "start_utc": f.start_utc,
            "end_utc": f.end_utc,
            "local_day": rules.local_day(f.end_utc, rules.zone(sites[f.site_id].timezone)).isoformat(),
            "energy_wh": round(f.energy_wh),
            "cost": None if f.cost is None else str(f.cost),
            "currency": f.currency,
        }
        for f in facts
    ]


def _uptime(h: MonthHealth | None) -> dict[str, Any] | None:
    if h is None:
        return None
    return {
        "availability_percent": None if h.availability is None else round(h.availability * 100, 2),
        "online_s": h.online_s,
        "degraded_s": h.degraded_s,
        "offline_s": h.offline_s,
        "fault_s": h.fault_s,
        "faults": h.faults,
    }


def _figures(f: rules.Figures) -> dict[str, Any]:
    return {
        "sessions": f.sessions,
        "energy_kwh": str(f.energy_kwh),
        "revenue": {cur: str(amount) for cur, amount in sorted(f.revenue.items())},
        "priced_sessions": f.priced,
    }


def _drill(portfolio: str, r: rules.Report, period: str | None, site_id: int | None) -> str:
    query = f"portfolio={portfolio}&from={r.start}&to={r.end}&step={r.step}"
    if period:
        query += f"&period={period}"
    if site_id is not None:
        query += f"&site_id={site_id}"
    return f"{REPORT_PATH}/sessions?{query}"


def as_dict(r: rules.Report, portfolio: str, choices: list[dict[str, str]]) -> dict[str, Any]:
    """The API's JSON: amounts and kWh as decimal strings, each figure with its drill-down link."""

    def period(p: rules.PeriodRow, site_id: int | None) -> dict[str, Any]:
        return {
            "period": p.period,
            "hours": p.hours,
            **_figures(p.figures),
            "uptime": _uptime(p.uptime),
            "sessions_link": _drill(portfolio, r, p.period, site_id),
        }

    names = {c["key"]: c["name"] for c in choices}
    return {
        "portfolio": {"key": portfolio, "name": names.get(portfolio, portfolio)},
        "portfolios": choices,
        "step": r.step,
        "from": r.start.isoformat(),
        "to": r.end.isoformat(),
        "totals": {
            **_figures(r.totals),
            "uptime": _uptime(r.uptime),
            "sessions_link": _drill(portfolio, r, None, None),
        },
        "periods": [period(p, None) for p in r.periods],
        "sites": [
            {
                "site_id": s.site.id,
                "name": s.site.name,
                "timezone": s.site.timezone,
                "spv_id": s.site.spv_id,
                **_figures(s.totals),
                "uptime": _uptime(s.uptime),
                "sessions_link": _drill(portfolio, r, None, s.site.id),
                "periods": [period(p, s.site.id) for p in s.periods],
            }
            for s in r.sites
        ],
    }


def currencies(r: rules.Report) -> list[str]:
    return sorted(r.totals.revenue)


def csv_text(r: rules.Report) -> str:
    """One row per site and period, then the portfolio's rows (site "All sites in the report"); one
    revenue column per currency; cells neutralised against spreadsheet formulas."""
    curs = currencies(r)
    columns = ["site_id", "site", "timezone", "period", "hours", "sessions", "energy_kwh"]
    columns += [f"revenue_{c}" for c in curs] + ["availability_percent"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()

    def row(site_id: Any, name: str, tz: str, p: rules.PeriodRow) -> dict[str, Any]:
        up = _uptime(p.uptime)
        return csv_cells.record(
            {
                "site_id": site_id,
                "site": name,
                "timezone": tz,
                "period": p.period,
                "hours": "" if p.hours is None else f"{p.hours:g}",
                "sessions": p.figures.sessions,
                "energy_kwh": str(p.figures.energy_kwh),
                **{f"revenue_{c}": str(p.figures.revenue.get(c, Decimal(0))) for c in curs},
                "availability_percent": ""
                if not up or up["availability_percent"] is None
                else up["availability_percent"],
            }
        )

    for s in r.sites:
        for p in s.periods:
            writer.writerow(row(s.site.id, s.site.name, s.site.timezone, p))
    for p in r.periods:
        writer.writerow(row("", "All sites in the report", "", p))
    return buffer.getvalue()
