"""Portfolio reports: sessions, energy, revenue and uptime per portfolio, per site, month by month or
day by day, in each site's local time. Pure: no I/O, so the sums are property-tested
(tests/unit/domain/test_portfolio.py).

Rules (docs/reports.md):
- A session counts once, in the **local day of its end** at its site (a running session counts nowhere
  yet: its energy and price are not final). The month is the local day's month, the same rule as
  domain/revenue.py, so the two reports agree.
- A day is a local calendar day: 23 hours on the spring DST change day, 25 on the autumn one
  (`day_hours`). Periods are half-open local date ranges `[start, end)`.
- **Revenue** is the sum of the final prices (`cost`) of the sessions that have one, per currency:
  amounts of different currencies are never added. A session without a price counts for sessions and
  energy only.
- **Energy** is summed in whole Wh per session (rounded once, like domain/revenue.py), reported in kWh,
  so a figure always equals the sum of the sessions a drill-down lists.
- **Uptime** comes from the stored health months (UTC months, docs/health.md): a site's month as stored,
  a portfolio's month combined from its sites' by availability.combine (sums, availability from the sums).
  Day figures have no uptime: it is stored per month.
- A **portfolio** is every site (`all`), the sites of one owning SPV (`spv:<id>`), or the sites owned by
  no SPV (`none`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from pipelet_app.domain.availability import MonthHealth, combine

Step = Literal["month", "day"]
STEPS: tuple[Step, ...] = ("month", "day")
ALL = "all"
NO_SPV = "none"


@dataclass(frozen=True, slots=True)
class SiteInfo:
    id: int
    name: str
    timezone: str
    spv_id: int | None


@dataclass(frozen=True, slots=True)
class SessionFact:
    """One finished session at one of the report's sites (what a drill-down lists)."""

    session_id: int
    transaction_id: str
    site_id: int
    charge_point_id: str
    start_utc: datetime
    end_utc: datetime
    energy_wh: float
    cost: Decimal | None
    currency: str


@dataclass(frozen=True, slots=True)
class DayBucket:
    """The sessions of one site that ended on one local day, in one currency, already summed (what a
    database may hand over instead of the sessions: the sums are the same)."""

    site_id: int
    day: date
    currency: str
    sessions: int
    energy_wh: int
    revenue: Decimal  # of the priced sessions only
    priced: int


@dataclass
class Figures:
    sessions: int = 0
    energy_wh: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)
    priced: int = 0

    def add(self, bucket: DayBucket) -> None:
        self.sessions += bucket.sessions
        self.energy_wh += bucket.energy_wh
        self.priced += bucket.priced
        if bucket.priced:
            self.revenue[bucket.currency] = self.revenue.get(bucket.currency, Decimal(0)) + bucket.revenue

    @property
    def energy_kwh(self) -> Decimal:
        return Decimal(self.energy_wh) / 1000


@dataclass
class PeriodRow:
    period: str  # YYYY-MM or YYYY-MM-DD (local)
    hours: float | None  # the local day's length (23 / 24 / 25); None for a month
    figures: Figures
    uptime: MonthHealth | None = None


@dataclass
class SiteReport:
    site: SiteInfo
    totals: Figures
    periods: list[PeriodRow]
    uptime: MonthHealth | None = None


@dataclass
class Report:
    step: Step
    start: date
    end: date
    periods: list[PeriodRow]
    sites: list[SiteReport]
    totals: Figures
    uptime: MonthHealth | None = None


def zone(name: str | None) -> ZoneInfo:
    """The site's zone; an unknown name falls back to UTC (the sites service refuses unknown names, so
    only a row written around it lands here)."""
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    if instant.tzinfo is None:
        raise ValueError("naive datetime: give UTC instants")
    return instant.astimezone(tz).date()


def day_start_utc(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant the local day begins (midnight; every zone with DST changes away from it)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_hours(day: date, tz: ZoneInfo) -> float:
    """How long the local day is: 23 on the spring-forward day, 25 on the fall-back day, else 24."""
    seconds = (day_start_utc(day + timedelta(days=1), tz) - day_start_utc(day, tz)).total_seconds()
    return seconds / 3600


def period_of(day: date, step: Step) -> str:
    return day.isoformat() if step == "day" else f"{day.year:04d}-{day.month:02d}"


def period_keys(start: date, end: date, step: Step) -> list[str]:
    """Every period touching the local date range [start, end), in order."""
    keys: list[str] = []
    day = start
    while day < end:
        key = period_of(day, step)
        if not keys or keys[-1] != key:
            keys.append(key)
        day += timedelta(days=1)
    return keys


def in_portfolio(site: SiteInfo, portfolio: str) -> bool:
    if portfolio == ALL:
        return True
    if portfolio == NO_SPV:
        return site.spv_id is None
    return portfolio == f"spv:{site.spv_id}"


def buckets(facts: Iterable[SessionFact], sites: Mapping[int, SiteInfo]) -> list[DayBucket]:
    """Sum sessions into (site, local day of the end, currency) buckets; sessions of other sites drop."""
    acc: dict[tuple[int, date, str], list] = {}
    zones: dict[int, ZoneInfo] = {}
    for fact in facts:
        site = sites.get(fact.site_id)
        if site is None:
            continue
        tz = zones.setdefault(site.id, zone(site.timezone))
        key = (site.id, local_day(fact.end_utc, tz), fact.currency)
        entry = acc.setdefault(key, [0, 0, Decimal(0), 0])
        entry[0] += 1
        entry[1] += round(fact.energy_wh)
        if fact.cost is not None:
            entry[2] += fact.cost
            entry[3] += 1
    return [DayBucket(s, d, c, n, wh, rev, priced) for (s, d, c), (n, wh, rev, priced) in sorted(acc.items())]


def aggregate(
    day_buckets: Iterable[DayBucket],
    sites: Iterable[SiteInfo],
    start: date,
    end: date,
    step: Step,
    health: Mapping[tuple[int, str], MonthHealth] | None = None,
) -> Report:
    """The report over `sites` for local days in [start, end): per period (every period listed, empty
    ones too), per site and in total. `health` holds stored months by (site id, YYYY-MM)."""
    if end <= start:
        raise ValueError("end must be after start")
    health = health or {}
    site_list = sorted(sites, key=lambda s: (s.name.lower(), s.id))
    keys = period_keys(start, end, step)
    per_site: dict[int, dict[str, Figures]] = {s.id: {k: Figures() for k in keys} for s in site_list}
    site_totals = {s.id: Figures() for s in site_list}
    per_period = {k: Figures() for k in keys}
    totals = Figures()
    for bucket in day_buckets:
        if bucket.site_id not in per_site or not start <= bucket.day < end:
            continue
        key = period_of(bucket.day, step)
        per_site[bucket.site_id][key].add(bucket)
        site_totals[bucket.site_id].add(bucket)
        per_period[key].add(bucket)
        totals.add(bucket)

    def hours(key: str, tz: ZoneInfo | None) -> float | None:
        if step != "day" or tz is None:
            return None
        return day_hours(date.fromisoformat(key), tz)

    def month_uptime(site_ids: list[int], key: str) -> MonthHealth | None:
        if step != "month":
            return None
        if len(site_ids) == 1:  # one site's month is its stored row as it is
            return health.get((site_ids[0], key))
        rows = [health[(sid, key)] for sid in site_ids if (sid, key) in health]
        return combine(rows) if rows else None

    site_reports: list[SiteReport] = []
    for site in site_list:
        tz = zone(site.timezone)
        rows = [PeriodRow(k, hours(k, tz), per_site[site.id][k], month_uptime([site.id], k)) for k in keys]
        months = [r.uptime for r in rows if r.uptime is not None]
        site_reports.append(SiteReport(site, site_totals[site.id], rows, combine(months) if months else None))
    # A portfolio's day is as long as its sites' days; sites in zones that change on different dates
    # make no single length, so the portfolio row names one only when all its sites agree.
    zones = {site.timezone for site in site_list}
    common = zone(next(iter(zones))) if len(zones) == 1 else None
    ids = [s.id for s in site_list]
    period_rows = [PeriodRow(k, hours(k, common), per_period[k], month_uptime(ids, k)) for k in keys]
    months = [r.uptime for r in period_rows if r.uptime is not None]
    return Report(step, start, end, period_rows, site_reports, totals, combine(months) if months else None)


def drill_down(
    facts: Iterable[SessionFact],
    sites: Mapping[int, SiteInfo],
    start: date,
    end: date,
    step: Step,
    period: str | None = None,
    site_id: int | None = None,
) -> list[SessionFact]:
    """The sessions behind one figure: those `aggregate` counts in `period` (None: the whole range) at
    `site_id` (None: every site given), oldest end first."""
    out: list[SessionFact] = []
    for fact in facts:
        site = sites.get(fact.site_id)
        if site is None or (site_id is not None and fact.site_id != site_id):
            continue
        day = local_day(fact.end_utc, zone(site.timezone))
        if not start <= day < end:
            continue
        if period is not None and period_of(day, step) != period:
            continue
        out.append(fact)
    return sorted(out, key=lambda f: (f.end_utc, f.session_id))


def utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """A UTC range wide enough to hold every local day in [start, end) of any zone (UTC-12 .. UTC+14):
    the database filters by it, the rules above by the local day."""
    return (
        datetime.combine(start, time(0), tzinfo=UTC) - timedelta(hours=14),
        datetime.combine(end, time(0), tzinfo=UTC) + timedelta(hours=12),
    )
