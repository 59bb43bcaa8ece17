"""Request budgets per brand and account, and when to poll next. Pure: no I/O, no clock of its own.

Why a budget at all: inverter clouds' quotas differ by orders of magnitude (Enphase free: 1,000 calls a
month, ≈ one every 45 min for one system; SolarEdge: 300 a day; Huawei: 5 logins per 10 min). Exceeding one
gets the account blocked for the rest of the window, which for a monthly quota means a month without data.
So the scheduler keeps a ledger of what each account spent and never schedules a poll that would not fit.

Why the poll-time policy looks like this:

* default every 30 min, because that is what most free tiers sustain and what the reconstructor needs;
* denser while a session runs (start and end edges are what drivers see), paid for by the savings of
* sparser polls at night (site-local), when PV wallboxes rarely start;
* never denser than a window's sustainable pace unless the window still has spare budget, and never at a time
  the ledger says would overdraw a window;
* exponential back-off after throttling or failures, at least the cloud's own retry-after, instead of
  retrying hot (a hot retry is what turns a minute's throttle into a day's ban).

Rolling windows are used throughout. A calendar-month quota is modelled as a rolling 31-day window: any
calendar month lies inside one, so staying under the rolling limit stays under the monthly one.

The ledger is a plain JSON-safe dict ``{kind: [epoch seconds, ...]}``; the poll job stores it per account.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

REQUEST = "request"
LOGIN = "login"
REALTIME = "realtime"
#: a history read an adapter budgets itself in the link's ledger (Huawei's hourly plant data: 24 + 1 a day)
HISTORY = "history"

DAY_S = 86_400.0


@dataclass(frozen=True)
class Window:
    """At most ``limit`` spends of ``kind`` in any ``period_s`` seconds."""

    limit: int
    period_s: float
    kind: str = REQUEST

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period_s <= 0:
            raise ValueError("a quota window needs limit >= 1 and a positive period")


@dataclass(frozen=True)
class BrandQuota:
    """A brand's published limits plus how many requests one poll of one wallbox costs."""

    brand: str
    windows: tuple[Window, ...] = ()
    #: requests of kind REQUEST one poll spends (e.g. Fronius reads flowdata + aggrdata = 2)
    calls_per_poll: int = 1
    #: spends of other kinds one poll makes (Huawei: one real-time KPI read per poll)
    extra_per_poll: Mapping[str, int] = field(default_factory=dict)

    def cost(self) -> dict[str, int]:
        return {REQUEST: self.calls_per_poll, **dict(self.extra_per_poll)}


# Published (or observed) limits, per account. Brands without published limits get a conservative guard
# so a bug can never hammer a cloud.
QUOTAS: dict[str, BrandQuota] = {
    "enphase": BrandQuota("enphase", (Window(10, 60), Window(1_000, 31 * DAY_S))),
    "solaredge": BrandQuota("solaredge", (Window(300, DAY_S),)),
    "fronius": BrandQuota("fronius", (Window(60, 3_600),), calls_per_poll=2),
    "sma": BrandQuota("sma", (Window(20, 300),)),
    "victron": BrandQuota("victron", (Window(60, 3_600),)),
    "huawei": BrandQuota(
        "huawei",
        (
            Window(5, 600, LOGIN),
            Window(1, 300, REALTIME),
            Window(60, 3_600),
            # the hourly plant data (ceil(plants/100) + 24 a day, one a minute; one call to spare), spent by
            # the adapter itself when an hour is owed: not part of a poll's cost
            Window(24, DAY_S, HISTORY),
            Window(1, 60, HISTORY),
        ),
        extra_per_poll={REALTIME: 1},
    ),
    "sungrow": BrandQuota("sungrow", (Window(60, 3_600),)),
    "ecoflow": BrandQuota("ecoflow", (Window(60, 3_600),)),
    "solarwatt": BrandQuota("solarwatt", (Window(120, 3_600),)),
}
DEFAULT_QUOTA = BrandQuota("default", (Window(60, 3_600),))


def quota_for(brand: str, override: BrandQuota | None = None) -> BrandQuota:
    """The account's quota: a paid tier's override when the account has one, else the brand's default."""
    return override or QUOTAS.get(brand, replace(DEFAULT_QUOTA, brand=brand))


# ------------------------------------------------------------------------------------------- ledger

Ledger = dict[str, list[float]]


def _ts(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.timestamp()


def prune(ledger: Mapping[str, list[float]], quota: BrandQuota, now: datetime) -> Ledger:
    """A copy without spends older than the longest window of their kind (keeps the stored ledger small)."""
    longest: dict[str, float] = {}
    for w in quota.windows:
        longest[w.kind] = max(longest.get(w.kind, 0.0), w.period_s)
    t = _ts(now)
    return {
        kind: sorted(s for s in spends if s > t - longest[kind])
        for kind, spends in ledger.items()
        if kind in longest
    }


def spend(
    ledger: Mapping[str, list[float]], quota: BrandQuota, now: datetime, kind: str = REQUEST, n: int = 1
) -> Ledger:
    """A new ledger with ``n`` spends of ``kind`` recorded at ``now`` (also records throttled requests: they
    count against the cloud's quota all the same)."""
    updated = {k: list(v) for k, v in ledger.items()}
    updated.setdefault(kind, []).extend([_ts(now)] * n)
    return prune(updated, quota, now)


def spend_poll(
    ledger: Mapping[str, list[float]], quota: BrandQuota, now: datetime, wallboxes: int = 1
) -> Ledger:
    """Record one whole account poll (all kinds it costs)."""
    result: Ledger = {k: list(v) for k, v in ledger.items()}
    for kind, n in poll_cost(quota, wallboxes).items():
        result = spend(result, quota, now, kind, n)
    return result


def _used(spends: list[float], t: float, period_s: float) -> int:
    return sum(1 for s in spends if t - period_s < s <= t)


def can_spend(
    ledger: Mapping[str, list[float]], quota: BrandQuota, now: datetime, kind: str = REQUEST, n: int = 1
) -> bool:
    t = _ts(now)
    spends = ledger.get(kind, [])
    return all(_used(spends, t, w.period_s) + n <= w.limit for w in quota.windows if w.kind == kind)


def next_allowed(
    ledger: Mapping[str, list[float]], quota: BrandQuota, now: datetime, cost: Mapping[str, int] | None = None
) -> datetime:
    """The earliest moment ≥ now at which ``cost`` (default: one poll) fits into every window."""
    cost = dict(cost or quota.cost())
    t = _ts(now)
    earliest = t
    for w in quota.windows:
        n = cost.get(w.kind, 0)
        if n == 0:
            continue
        if n > w.limit:
            raise ValueError(f"one poll costs {n} {w.kind}s but the window allows only {w.limit}")
        spends = sorted(s for s in ledger.get(w.kind, []) if s > t - w.period_s)
        excess = len(spends) + n - w.limit
        if excess > 0:
            # the window must forget the `excess` oldest spends: free once the excess-th oldest has aged out
            earliest = max(earliest, spends[excess - 1] + w.period_s)
    return datetime.fromtimestamp(earliest, UTC)


def remaining(ledger: Mapping[str, list[float]], quota: BrandQuota, now: datetime) -> int:
    """The fewest calls left in any of the quota's windows at `now` (what runs out first)."""
    t = _ts(now)
    return min(
        (max(0, w.limit - _used(ledger.get(w.kind, []), t, w.period_s)) for w in quota.windows), default=0
    )


def used_fraction(
    ledger: Mapping[str, list[float]], quota: BrandQuota, now: datetime, window: Window
) -> float:
    return _used(ledger.get(window.kind, []), _ts(now), window.period_s) / window.limit


# ------------------------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class PollPolicy:
    """Intervals in seconds. Per brand or per account (paid tiers) the poll job may pass its own."""

    base_interval_s: float = 1_800.0
    session_interval_s: float = 300.0
    night_interval_s: float = 7_200.0
    night_start_hour: int = 22
    night_end_hour: int = 6
    min_interval_s: float = 60.0
    backoff_base_s: float = 300.0
    backoff_max_s: float = 6 * 3_600.0
    #: while a session runs, polls may go denser than a window's sustainable pace as long as the window has
    #: used less than this share of its budget (spending what sparse nights saved)
    session_may_use_up_to: float = 0.8


DEFAULT_POLICY = PollPolicy()


def is_night(now: datetime, tz_name: str | None, policy: PollPolicy = DEFAULT_POLICY) -> bool:
    local = now.astimezone(ZoneInfo(tz_name)) if tz_name else now.astimezone(UTC)
    start, end = policy.night_start_hour, policy.night_end_hour
    if start == end:
        return False
    if start < end:
        return start <= local.hour < end
    return local.hour >= start or local.hour < end


def backoff_s(failures: int, policy: PollPolicy = DEFAULT_POLICY, jitter_key: str = "") -> float:
    """Exponential back-off after ``failures`` consecutive failures (0 → 0), capped, with a deterministic
    jitter of up to +10 % derived from ``jitter_key`` so many accounts throttled together do not return in
    lock-step."""
    if failures <= 0:
        return 0.0
    raw = min(policy.backoff_max_s, policy.backoff_base_s * 2 ** min(failures - 1, 30))
    digest = hashlib.sha256(f"{jitter_key}:{failures}".encode()).digest()
    jitter = 1.0 + (digest[0] / 255.0) * 0.1
    return min(policy.backoff_max_s, raw * jitter)


def desired_interval_s(
    now: datetime, *, session_active: bool, tz_name: str | None, policy: PollPolicy = DEFAULT_POLICY
) -> float:
    if session_active:
        return policy.session_interval_s
    if is_night(now, tz_name, policy):
        return max(policy.night_interval_s, policy.base_interval_s)
    return policy.base_interval_s


def sustainable_interval_s(quota: BrandQuota, window: Window, wallboxes: int = 1) -> float:
    """Spacing at which polling ``wallboxes`` chargers on one account exactly exhausts ``window``."""
    return window.period_s * poll_cost(quota, wallboxes).get(window.kind, 0) / window.limit


def poll_cost(quota: BrandQuota, wallboxes: int = 1) -> dict[str, int]:
    """What one account poll spends: brand requests per wallbox, other kinds (logins, KPI reads) once."""
    cost = quota.cost()
    cost[REQUEST] = cost.get(REQUEST, 0) * max(1, wallboxes)
    return cost


def next_poll_time(
    now: datetime,
    *,
    quota: BrandQuota,
    ledger: Mapping[str, list[float]],
    session_active: bool = False,
    tz_name: str | None = None,
    failures: int = 0,
    retry_after_s: float | None = None,
    wallboxes: int = 1,
    policy: PollPolicy = DEFAULT_POLICY,
    jitter_key: str = "",
) -> datetime:
    """When to poll this account next.

    ``failures``: consecutive failed or throttled polls (0 after a success). ``retry_after_s``: what the
    cloud asked for on its last throttle answer. ``wallboxes``: chargers polled per account poll (each costs
    the brand's per-poll cost).
    """
    interval = desired_interval_s(now, session_active=session_active, tz_name=tz_name, policy=policy)
    for window in quota.windows:
        pace = sustainable_interval_s(quota, window, wallboxes)
        if pace <= interval:
            continue
        spare = used_fraction(ledger, quota, now, window) < policy.session_may_use_up_to
        if not (session_active and spare):
            interval = pace
    interval = max(interval, policy.min_interval_s)
    if failures > 0 or retry_after_s:
        interval = max(interval, backoff_s(failures or 1, policy, jitter_key), retry_after_s or 0.0)
    candidate = now + timedelta(seconds=interval)
    allowed = next_allowed(ledger, quota, candidate, poll_cost(quota, wallboxes))
    return max(candidate, allowed)
