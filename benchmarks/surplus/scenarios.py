"""The benchmark's two sites, built from the shared data (or the committed smoke sample).

- PV: one day of 1-minute GHI at Golden, Colorado (NREL MIDC via pvlib-python tests, BSD-3), turned
  into AC power as kWp x GHI/1000 x 0.85 (performance ratio). Day = 07:00 UTC to 07:00 UTC (local
  01:00-01:00, America/Denver, UTC-6 in October).
- Workplace: ten chargers, 60 kWp, office load = BDEW 2025 commercial profile G25 (demandlib) scaled to
  25 MWh/yr, taken on a Tuesday (2018-10-16) because the broken-cloud day is a Sunday. Cars: the
  sessions of 2019-05-07 (a Tuesday) at the ten busiest stations of that day in the Caltech ACN data
  (CC BY 4.0), clock times kept and moved to the PV day in Denver time, energy = delivered energy,
  departures after midnight clipped to the end of the day. The ACN data has no car specifics, so by
  order of arrival: three of every five cars are 3-phase 16 A, one 1-phase 32 A, one 1-phase 16 A that
  takes only 10 A (the car that draws less than offered). No phase switching at the workplace.
- Home: 10 kWp, one 3-phase 16 A car that can switch phases, plugged in 07:00-20:00 local, wanting
  30 kWh; house load = BDEW 2025 household profile H25 (demandlib) scaled to 4,500 kWh/yr on the day.
  `build(..., home=...)` takes another plug-in window and energy (the sweep's Trondheim sessions, see
  `home_sessions`); the default is the 07:00-20:00 / 30 kWh car above.
Every car follows a new limit 10 s after it is sent; a phase switch pauses charging for 30 s.
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pipelet_app.domain.surplus import Mode, SiteConfig
from pipelet_app.domain.surplus.simulation import (
    Controller,
    Series,
    SimulationResult,
    SimulationSettings,
    VirtualCar,
    simulate,
)

DENVER = ZoneInfo("America/Denver")
LAT, LON = 39.742, -105.18
PERFORMANCE_RATIO = 0.85
WORKPLACE_DAY = "2019-05-07"


@dataclass(frozen=True)
class HomeSession:
    """The home car's plug-in window, in hours after local midnight of the PV day, and its energy wish.

    `depart_h` may pass 24 (a car that stays plugged overnight); `build` clips it to the day's end.
    """

    arrive_h: float
    depart_h: float
    energy_wh: float
    session_id: str = ""  # the source session (Trondheim `session_ID`), empty for the default car
    plug_in: str = ""  # its local plug-in time, ISO


DEFAULT_HOME = HomeSession(7.0, 20.0, 30000.0)  # run.py's home car: 07:00-20:00, 30 kWh
# Trondheim sessions the home sweep takes: a private charger's, plugged in at least this long during the
# PV day's sun hours (local clock, the October day at Golden is light about 07:15-18:25) and delivering
# at least this much (a car that takes less has little to show a surplus controller)
SUN_HOURS = (9.0, 16.0)
MIN_SUN_H = 3.0
MIN_HOME_KWH = 5.0


@dataclass(frozen=True)
class Scenario:
    name: str
    day: str
    pv: Series
    load: Series
    cars: list[VirtualCar]
    site: SiteConfig
    start_s: float
    end_s: float

    def site_in(self, mode: Mode) -> SiteConfig:
        """The scenario's site charging in `mode` (the benchmarks measure PV-only unless they say so)."""
        return self.site.__class__(**{**self.site.__dict__, "mode": mode})

    def run(self, site: SiteConfig, controller: Controller, control_s: float) -> SimulationResult:
        """The scenario's day through the simulator, 10 s steps, `controller` deciding every `control_s`:
        one way to run a day, so that run.py's figures and loop_memory/policy.py's counts see the same one."""
        return simulate(
            self.pv,
            self.load,
            self.cars,
            site,
            self.start_s,
            self.end_s,
            controller=controller,
            sim=SimulationSettings(step_s=10.0, control_s=control_s),
        )


def read_ghi(path: Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    times, values = [], []
    with path.open() as handle:
        for row in csv.DictReader(handle):
            times.append(datetime.fromisoformat(row["time_utc"].replace("Z", "+00:00")).timestamp())
            values.append(max(0.0, float(row["ghi_w_m2"])))
    return tuple(times), tuple(values)


@lru_cache(maxsize=8)
def _year_profile(kind: str, year: int):
    import pandas as pd
    from demandlib.bdew import G25, H25

    index = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="15min", inclusive="left")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profile = (H25 if kind == "h25" else G25)(index)
    return profile


def standard_load(kind: str, annual_kwh: float, profile_day: str, target_day_local: datetime) -> Series:
    """A BDEW 2025 profile's day (demandlib), scaled to `annual_kwh`, on `target_day_local`'s clock."""
    day = datetime.fromisoformat(profile_day)
    profile = _year_profile(kind, day.year)
    scale = annual_kwh / (float(profile.sum()) / 4.0)  # kWh per profile unit (15-min power values)
    times, values = [], []
    for quarter in range(-1, 24 * 4 + 2):
        local_profile = day + timedelta(minutes=15 * max(0, min(quarter, 95)))
        watts = float(profile.loc[local_profile.strftime("%Y-%m-%d %H:%M")]) * scale * 1000.0
        moment = target_day_local + timedelta(minutes=15 * quarter + 7.5)  # value is the quarter's mean
        times.append(moment.astimezone(UTC).timestamp())
        values.append(watts)
    return Series(tuple(times), tuple(values))


def acn_cars(path: Path, day_local: datetime, end_s: float, car_day: str = WORKPLACE_DAY) -> list[VirtualCar]:
    """The sessions that arrived on `car_day` (local date) at that day's ten busiest stations."""
    with path.open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["arrival"][:10] == car_day]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["station_id"]] = counts.get(row["station_id"], 0) + 1
    stations = sorted(counts, key=lambda s: (-counts[s], s))[:10]
    chosen = sorted((r for r in rows if r["station_id"] in stations), key=lambda r: r["arrival"])
    origin = datetime.fromisoformat(f"{car_day}T00:00:00-07:00")  # May-August: PDT throughout
    cars = []
    for index, row in enumerate(chosen):
        arrive = datetime.fromisoformat(row["arrival"]) - origin
        depart = datetime.fromisoformat(row["departure"]) - origin
        arrive_s = (day_local + arrive).astimezone(UTC).timestamp()
        depart_s = min(end_s, (day_local + depart).astimezone(UTC).timestamp())
        kind = index % 5
        phases, max_a, car_max = (
            (3, 16.0, None) if kind < 3 else ((1, 32.0, None) if kind == 3 else (1, 16.0, 10.0))
        )
        cars.append(
            VirtualCar(
                car_id=f"acn-{index + 1:02d}",
                charger_id=row["station_id"],
                arrive_s=arrive_s,
                depart_s=depart_s,
                energy_wh=float(row["delivered_energy (kWh)"]) * 1000.0,
                max_a=max_a,
                phases=phases,
                car_max_a=car_max,
                response_delay_s=10.0,
            )
        )
    return cars


def home_sessions(path: Path) -> list[HomeSession]:
    """Real residential sessions (Trondheim, Sørensen et al. 2021, CC BY) fit for a daytime PV home.

    Kept: `Private` chargers (one household's own charger, as the home site), plug-in and plug-out both
    recorded, plugged at least `MIN_SUN_H` within `SUN_HOURS` of the plug-in day, at least
    `MIN_HOME_KWH` delivered. Clock times are kept (they move to the PV day like the workplace cars),
    energy wanted = delivered energy. Ordered by plug-in time, then session id.
    """
    chosen = []
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            if row["User_type"] != "Private" or "NA" in (row["Start_plugin"], row["End_plugout"]):
                continue
            plug_in = datetime.strptime(row["Start_plugin"], "%d.%m.%Y %H:%M")
            plug_out = datetime.strptime(row["End_plugout"], "%d.%m.%Y %H:%M")
            midnight = plug_in.replace(hour=0, minute=0)
            arrive_h = (plug_in - midnight).total_seconds() / 3600.0
            depart_h = (plug_out - midnight).total_seconds() / 3600.0
            sun_h = min(depart_h, SUN_HOURS[1]) - max(arrive_h, SUN_HOURS[0])
            energy_kwh = float(row["El_kWh"].replace(",", "."))
            if sun_h >= MIN_SUN_H and energy_kwh >= MIN_HOME_KWH:
                chosen.append(
                    HomeSession(
                        arrive_h, depart_h, energy_kwh * 1000.0, row["session_ID"], plug_in.isoformat()
                    )
                )
    return sorted(chosen, key=lambda s: (s.plug_in, int(s.session_id)))


def build(
    kind: str,
    ghi_path: Path,
    sessions_path: Path,
    day_name: str,
    car_day: str = WORKPLACE_DAY,
    home: HomeSession = DEFAULT_HOME,
) -> Scenario:
    """One site on one PV day; the workplace's cars are those of `car_day` (benchmarks: 2019-05-07), the
    home's car plugs in as `home` says (benchmarks: 07:00-20:00, 30 kWh)."""
    times, ghi = read_ghi(ghi_path)
    start_s, end_s = times[0], times[0] + 86400.0
    first = datetime.fromtimestamp(start_s, UTC).astimezone(DENVER)
    day_local = first.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "workplace":
        kwp = 60.0
        load = standard_load("g25", 25000.0, "2018-10-16", day_local)
        cars = acn_cars(sessions_path, day_local, end_s, car_day)
        site = SiteConfig(grid_limit_a=160.0, latitude=LAT, longitude=LON)
    else:
        kwp = 10.0
        load = standard_load("h25", 4500.0, day_local.strftime("%Y-%m-%d"), day_local)
        arrive = max(start_s, (day_local + timedelta(hours=home.arrive_h)).astimezone(UTC).timestamp())
        depart = min(end_s, (day_local + timedelta(hours=home.depart_h)).astimezone(UTC).timestamp())
        cars = [
            VirtualCar(
                "home-car",
                "home",
                arrive,
                depart,
                home.energy_wh,
                max_a=16.0,
                phases=3,
                switch_phases=True,
                response_delay_s=10.0,
            )
        ]
        site = SiteConfig(grid_limit_a=35.0, latitude=LAT, longitude=LON)
    pv = Series(times, tuple(value * kwp * PERFORMANCE_RATIO for value in ghi))
    return Scenario(kind, day_name, pv, load, cars, site, start_s, end_s)
