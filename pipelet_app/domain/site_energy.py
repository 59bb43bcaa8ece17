"""A site's energy minute by minute, and how much of a car's energy counts as solar.

The rule (docs/solar-share.md, "Measured at a site"), applied per UTC minute:
1. PV production first covers the house load (everything at the site that is not a car);
2. what is left goes to the cars, pro rata to their energy in that minute (= their mean power);
3. the rest charges the battery or is exported. Battery discharge is never solar, even when the
   battery was charged from PV earlier (we cannot tell what is in it).

The house load is the load meter where the site has one, else the balance
`pv + grid + battery - cars` (grid > 0 imports, battery > 0 discharges) where a grid meter reports; with
neither it is unknown, taken as 0 (the most solar the cars could have got) and the figure is *estimated*.
A minute without PV data counts no solar and makes the session's figure estimated too.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MINUTE = timedelta(minutes=1)
MAX_LATE = timedelta(hours=24)  # older data is refused: its minutes' sessions are settled
#: sessions longer than this are not looked for among the recently ended (a week-long plug-in is rare)
LONGEST_SESSION = timedelta(days=7)
MAX_EARLY = timedelta(minutes=5)  # a clock this far ahead is wrong, not early

# Default profiles for transactions that leave out departure or energy (Pleevi fields are optional).
DEFAULT_DWELL = {"ac": timedelta(hours=8), "dc": timedelta(minutes=45)}
DEFAULT_ENERGY_WH = {"ac": 20_000.0, "dc": 40_000.0}


def floor_minute(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class Allocation:
    """Where one minute's PV energy went (Wh); the three parts sum to the PV energy."""

    house_solar_wh: float
    car_solar_wh: tuple[float, ...]
    rest_wh: float


def allocate(pv_wh: float, house_wh: float, car_wh: Sequence[float]) -> Allocation:
    """Split one minute's PV energy: house first, then the cars pro rata, the rest to battery/export."""
    pv = max(pv_wh, 0.0)
    cars = [max(c, 0.0) for c in car_wh]
    house_solar = min(pv, max(house_wh, 0.0))
    cars_total = math.fsum(cars)
    to_cars = min(pv - house_solar, cars_total)
    shares = tuple(to_cars * c / cars_total if cars_total > 0 else 0.0 for c in cars)
    return Allocation(house_solar, shares, pv - house_solar - math.fsum(shares))


@dataclass(frozen=True, slots=True)
class SiteMinute:
    """Mean powers of one site minute (W); None where no device of that kind reported."""

    pv_w: float | None = None
    grid_w: float | None = None
    battery_w: float | None = None
    battery_soc: float | None = None
    load_w: float | None = None
    ev_w: float | None = None
    house_measured: bool = False  # load_w from a load meter or the grid balance, not unknown

    @property
    def ev_solar_w(self) -> float | None:
        """The cars' solar power by the rule (all cars together); None without PV data."""
        if self.pv_w is None:
            return None
        ev = self.ev_w or 0.0
        return math.fsum(allocate(self.pv_w, self.load_w or 0.0, [ev]).car_solar_wh)


def site_minute(sums: Mapping[str, float], battery_soc: float | None = None) -> SiteMinute:
    """A site minute from the summed mean power per device kind (pv, grid, battery, load, charger)."""
    pv, grid, battery = sums.get("pv"), sums.get("grid"), sums.get("battery")
    ev, load = sums.get("charger"), sums.get("load")
    measured = load is not None
    if load is None and grid is not None:
        load = max((pv or 0.0) + grid + (battery or 0.0) - (ev or 0.0), 0.0)
        measured = True
    return SiteMinute(pv, grid, battery, battery_soc, load, ev, measured)


@dataclass(frozen=True, slots=True)
class SessionSolar:
    solar_wh: float
    estimated: bool


def session_solar(minutes: Iterable[tuple[float, SiteMinute | None]]) -> SessionSolar:
    """Solar energy of one session from its energy per minute and the site's minutes (rule above).

    Each item is (the session's Wh in that minute, the site minute or None when the site sent nothing).
    Other cars at the site share the solar pro rata: their energy is the site's EV energy minus this
    session's (never below 0: a site EV meter that saw less than the session did is ignored).
    """
    solar: list[float] = []
    estimated = False
    for session_wh, site in minutes:
        if session_wh <= 0:
            continue
        if site is None or site.pv_w is None:
            estimated = True
            continue
        if not site.house_measured:
            estimated = True
        others = max((site.ev_w or 0.0) / 60.0 - session_wh, 0.0)
        share = allocate(site.pv_w / 60.0, (site.load_w or 0.0) / 60.0, [session_wh, others])
        solar.append(min(share.car_solar_wh[0], session_wh))
    return SessionSolar(math.fsum(solar), estimated)


def spread_energy(
    start: datetime, end: datetime, energy_wh: float, registers: Sequence[tuple[datetime, float]]
) -> dict[datetime, float]:
    """A session's energy per UTC minute: the register's rises spread linearly between its samples,
    scaled so the minutes sum to `energy_wh` (the session's own figure, with the CSMS's offline-start
    and meter-swap rules). Without usable samples the energy is spread evenly over the session."""
    energy_wh = max(energy_wh, 0.0)
    out: dict[datetime, float] = {}
    if energy_wh == 0 or end <= start:
        if energy_wh > 0:
            out[floor_minute(start)] = energy_wh
        return out
    points = sorted((t, v) for t, v in registers if start <= t <= end)
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        _spread_interval(out, t0, t1, max(v1 - v0, 0.0))
    total = math.fsum(out.values())
    if total <= 0:
        out.clear()
        _spread_interval(out, start, end, energy_wh)
        return out
    factor = energy_wh / total
    return {minute: wh * factor for minute, wh in out.items()}


def _spread_interval(out: dict[datetime, float], t0: datetime, t1: datetime, wh: float) -> None:
    if wh <= 0:
        return
    span = (t1 - t0).total_seconds()
    if span <= 0:
        out[floor_minute(t1)] = out.get(floor_minute(t1), 0.0) + wh
        return
    minute = floor_minute(t0)
    while minute < t1:
        overlap = (min(minute + MINUTE, t1) - max(minute, t0)).total_seconds()
        if overlap > 0:
            out[minute] = out.get(minute, 0.0) + wh * overlap / span
        minute += MINUTE


def default_departure(start: datetime, current_type: str | None) -> datetime:
    return start + DEFAULT_DWELL.get((current_type or "ac").lower(), DEFAULT_DWELL["ac"])


def default_energy_wh(current_type: str | None) -> float:
    return DEFAULT_ENERGY_WH.get((current_type or "ac").lower(), DEFAULT_ENERGY_WH["ac"])
