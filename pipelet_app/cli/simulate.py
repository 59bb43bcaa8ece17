"""`pipelet simulate-surplus`: closed-loop PV-surplus charging simulation (issue 10).

A thin shell over `pipelet_app.domain.surplus.simulation`: it reads the files, runs the same controller
the site loop runs against virtual chargers and cars, and prints the JSON summary of interfaces.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from pipelet_app.cli._errors import BadInput, friendly_errors
from pipelet_app.domain.surplus import Mode, SiteConfig
from pipelet_app.domain.surplus.inputs import InputError, parse_ev_json, parse_prices_csv, parse_series_csv
from pipelet_app.domain.surplus.simulation import Series, SimulationSettings, simulate
from pipelet_app.tariffs.awattar import TariffError, fetch_prices


def _read(path: Path, name: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadInput(f"{name}: {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{name}: cannot read {path} ({exc})") from None


def _pv_series(path: Path, kwp: float | None, performance_ratio: float) -> Series:
    column, series = parse_series_csv(_read(path, "PV.csv"), "PV.csv", ("pv_w", "ghi_w_m2"))
    if column == "pv_w":
        return series
    if kwp is None:
        raise BadInput("--kwp: required when PV.csv gives ghi_w_m2")
    factor = kwp * performance_ratio  # W per W/m^2: kWp at 1000 W/m^2 times the performance ratio
    return Series(series.times, tuple(value * factor for value in series.values))


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise BadInput(message)


@friendly_errors
def simulate_surplus(
    pv: Path = typer.Option(..., help="PV.csv: time_utc,pv_w (or ghi_w_m2 with --kwp)"),
    load: Path | None = typer.Option(None, help="LOAD.csv: time_utc,load_w"),
    load_w: float | None = typer.Option(None, help="Constant household load in W instead of LOAD.csv"),
    ev: Path = typer.Option(..., help="EV.json: list of arrivals"),
    mode: str = typer.Option(..., help="pv-only, pv-priority or eco-plus"),
    step_s: int = typer.Option(10, help="Simulation step in seconds"),
    control_s: int = typer.Option(30, help="Control loop period in seconds"),
    kwp: float | None = typer.Option(None, help="PV peak power when PV.csv gives irradiance"),
    performance_ratio: float = typer.Option(0.85, help="PV performance ratio used with --kwp"),
    grid_limit_a: float = typer.Option(63.0, help="Site grid connection limit per phase (A)"),
    latitude: float | None = typer.Option(None, help="Site latitude, enables the clear-sky forecast"),
    longitude: float | None = typer.Option(None, help="Site longitude, enables the clear-sky forecast"),
    prices: Path | None = typer.Option(None, help="PRICES.csv: time_utc,price_per_kwh (eco-plus)"),
    prices_awattar: str | None = typer.Option(
        None, help="aWATTar API base URL (e.g. https://api.awattar.de): prices for the span (eco-plus)"
    ),
) -> None:
    """Print a JSON summary of a simulated site charging from PV surplus."""
    try:
        site_mode = Mode(mode)
    except ValueError:
        raise BadInput(f"--mode: must be pv-only, pv-priority or eco-plus, got {mode!r}") from None
    _check(1 <= step_s <= 300, f"--step-s: must be between 1 and 300, got {step_s}")
    _check(step_s <= control_s <= 3600, f"--control-s: must be between --step-s and 3600, got {control_s}")
    _check(kwp is None or 0 < kwp <= 100000, "--kwp: must be > 0")
    _check(0 < performance_ratio <= 1.2, "--performance-ratio: must be in (0, 1.2]")
    _check(0 < grid_limit_a <= 10000, "--grid-limit-a: must be > 0")
    _check((latitude is None) == (longitude is None), "--latitude/--longitude: give both or neither")
    _check(latitude is None or -90 <= latitude <= 90, "--latitude: must be between -90 and 90")
    _check(longitude is None or -180 <= longitude <= 180, "--longitude: must be between -180 and 180")
    _check((load is None) != (load_w is None), "--load/--load-w: give exactly one")
    _check(load_w is None or 0 <= load_w <= 1e7, "--load-w: must be >= 0")
    _check(prices is None or prices_awattar is None, "--prices/--prices-awattar: give at most one")
    try:
        pv_series = _pv_series(pv, kwp, performance_ratio)
        if load is not None:
            _, load_series = parse_series_csv(_read(load, "LOAD.csv"), "LOAD.csv", ("load_w",))
        else:
            load_series = Series.constant(float(load_w or 0.0))
        try:
            raw = json.loads(_read(ev, "EV.json"))
        except json.JSONDecodeError as exc:
            raise BadInput(f"EV.json: not JSON ({exc.msg} at line {exc.lineno})") from None
        cars = parse_ev_json(raw)
        price_series = parse_prices_csv(_read(prices, "PRICES.csv")) if prices is not None else None
    except InputError as exc:
        raise BadInput(str(exc)) from None
    start = min(pv_series.times[0], min(car.arrive_s for car in cars))
    end = max(pv_series.times[-1], max(car.depart_s for car in cars))
    _check(end - start <= 31 * 86400, "PV.csv/EV.json: the simulated span must be at most 31 days")
    if prices_awattar is not None:
        try:
            price_series = fetch_prices(
                datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), prices_awattar
            )
        except TariffError as exc:
            raise BadInput(f"--prices-awattar: {exc}") from None
    site = SiteConfig(grid_limit_a=grid_limit_a, mode=site_mode, latitude=latitude, longitude=longitude)
    result = simulate(
        pv_series,
        load_series,
        cars,
        site,
        start,
        end,
        sim=SimulationSettings(step_s=float(step_s), control_s=float(control_s)),
        prices=price_series,
    )
    summary: dict[str, Any] = {"mode": site_mode.value, **result.summary()}
    typer.echo(json.dumps(summary, indent=2))
