"""Portfolio reports for an operator (rules: domain/portfolio.py, docs/reports.md): the tenant's sites,
chosen by portfolio, their finished sessions summed per local day, and their stored health months.

Every function requires the operator role and reads only the caller's tenant: a site of another tenant
is "Not found." (404), exactly like a missing one, and an SPV of another tenant is no portfolio.

On PostgreSQL the figures come from `report_site_days` / `report_site_months`, the sums per (site,
local day or month, currency) that triggers keep exact on every session write (migration 0031): a year
of 1,000 sites by month is 12,000 rows instead of millions of sessions (benchmarks/operator).
Elsewhere (SQLite) the service reads the sessions and domain.portfolio.buckets sums them. A session
counts for its charger's site, or, a network session on no Pipelet charger, for the site the operator
mapped its network location to (`network_site_id`, docs/networks.md). The
drill-down always reads sessions, and the tests compare every figure with it on both backends
(tests/integration/reports/).
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
# A drill-down answers at most this many sessions: a portfolio's year is millions (choose a site or a
# period).
MAX_SESSIONS = 10_000
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
    db: Session, tenant_id: int, sites: dict[int, rules.SiteInfo], lo: date, hi: date, step: str
) -> list[rules.DayBucket]:
    if not sites:
        return []
    if db.get_bind().dialect.name == "postgresql":
        return _stored_buckets(db, list(sites), lo, hi, step)
    return rules.buckets(_facts(db, tenant_id, sites, lo, hi), sites)


def _stored_buckets(db: Session, ids: list[int], lo: date, hi: date, step: str) -> list[rules.DayBucket]:
    """The sums the triggers of migration 0031 keep. By month, whole months come from
    `report_site_months` and the partial months at either end from `report_site_days`, each group
    carrying a day inside both its month and [lo, hi), which is all domain.portfolio.aggregate needs."""
    whole_lo = lo if lo.day == 1 else (lo.replace(day=1) + timedelta(days=32)).replace(day=1)
    whole_hi = hi.replace(day=1)
    parts: list[tuple[str, date, date]] = []
    if step == "month" and whole_lo < whole_hi:
        parts = [("months", whole_lo, whole_hi), ("days", lo, whole_lo), ("days", whole_hi, hi)]
    else:
        parts = [("days", lo, hi)]
    group = "date_trunc('month', day::timestamp)" if step == "month" else "day"
    out: list[rules.DayBucket] = []
    for table, first, last in parts:
        if first >= last:
            continue
        sql = (
            "SELECT site_id, month, currency, sessions, energy_wh, revenue, priced FROM report_site_months "
            "WHERE site_id = ANY(:ids) AND month >= :lo AND month < :hi"
            if table == "months"
            else "SELECT site_id, min(day), currency, sum(sessions), sum(energy_wh), sum(revenue), "
            "sum(priced) FROM report_site_days WHERE site_id = ANY(:ids) AND day >= :lo AND day < :hi "
            f"GROUP BY site_id, {group}, currency"
        )
        rows = db.execute(text(sql), {"ids": ids, "lo": first, "hi": last}).all()
        out += [
            rules.DayBucket(site, day, cur, int(n), int(wh), Decimal(rev), int(priced))
            for site, day, cur, n, wh, rev, priced in rows
            if n
        ]
    return out


def _facts(
    db: Session,
    tenant_id: int,
    sites: dict[int, rules.SiteInfo],
    lo: date,
    hi: date,
    limit: int | None = None,
) -> list[rules.SessionFact]:
    """Finished sessions at `sites` ending on the local days [lo, hi), read over a UTC range a little
    wider (the domain drops the rest). More than `limit` rows: InvalidInput naming `period`."""
    if not sites:
        return []
    start, end = rules.utc_bounds(lo, hi)
    ended = (
        col(ChargingSession.end_utc).is_not(None),
        col(ChargingSession.end_utc) >= start,
        col(ChargingSession.end_utc) < end,
    )
    # A session's site is its charger's, else (a network session on no Pipelet charger, or on one that
    # stands at no site) the site the operator mapped its network location to (network_site_id,
    # services.networks.set_location_site). Two queries, each on its own index (chargers.site_id then
    # sessions by charger; sessions by network_site_id): a coalesce of both would scan every session.
    at_chargers = (
        select(ChargingSession, Charger.charge_point_id, Charger.site_id)
        .join(Charger, col(Charger.id) == col(ChargingSession.charger_id))
        .where(Charger.tenant_id == tenant_id, col(Charger.site_id).in_(list(sites)), *ended)
    )
    at_mapped = (
        select(ChargingSession, Charger.charge_point_id, ChargingSession.network_site_id)
        .outerjoin(Charger, col(Charger.id) == col(ChargingSession.charger_id))
        .where(col(ChargingSession.network_site_id).in_(list(sites)), col(Charger.site_id).is_(None), *ended)
    )
    found = []
    for query in (at_chargers, at_mapped):
        if limit is not None:
            query = query.limit(limit + 1 - len(found))
        found += db.exec(query).all()
        if limit is not None and len(found) > limit:
            raise InvalidInput(
                f"period: more than {limit:,} sessions behind this figure; choose a site or a shorter period"
            )
    facts = []
    for session, cp_id, site_id in found:
        assert session.id is not None and session.end_utc is not None and site_id is not None
        facts.append(
            rules.SessionFact(
                session.id,
                session.transaction_id,
                site_id,
                cp_id or session.station_id,
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
    # Plain columns, not ORM rows: 12,000 site months as SQLModel objects took seconds to build.
    rows = db.execute(
        select(
            HealthMonth.object_id,
            HealthMonth.month,
            HealthMonth.online_s,
            HealthMonth.degraded_s,
            HealthMonth.offline_s,
            HealthMonth.fault_s,
            HealthMonth.faults,
            HealthMonth.availability,
        ).where(
            HealthMonth.scope == "site",
            HealthMonth.tenant_id == tenant_id,
            col(HealthMonth.object_id).in_(ids),
            col(HealthMonth.month).in_(keys),
        )
    ).all()
    return {(r[0], r[1]): MonthHealth(*r[2:]) for r in rows}


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
    buckets = _buckets(db, principal.tenant_id, sites, lo, hi, st)
    keys = rules.period_keys(lo, hi, st) if st == "month" else []
    health = _health(db, principal.tenant_id, sites, keys)
    return rules.aggregate(buckets, sites.values(), lo, hi, st, health)


def _period_days(period: str, lo: date, hi: date) -> tuple[date, date]:
    """The local days of one period key (YYYY-MM or YYYY-MM-DD), clipped to [lo, hi)."""
    if len(period) == 10:
        first = date.fromisoformat(period)
        return max(first, lo), min(first + timedelta(days=1), hi)
    first = date.fromisoformat(period + "-01")
    return max(first, lo), min((first + timedelta(days=32)).replace(day=1), hi)


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
    # Read only the period's days: a month of a year's report reads a month of sessions.
    first, last = (lo, hi) if period is None else _period_days(period, lo, hi)
    found = _facts(db, principal.tenant_id, sites, first, last, limit=MAX_SESSIONS)
    facts = rules.drill_down(found, sites, lo, hi, st, period, site_id)
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
