"""`pipelet simulate-surplus` end to end through typer on the shared broken-cloud day (copied into
tests/fixtures/surplus: NREL MIDC via pvlib-python tests, BSD-3): keys, energy balance, modes, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelet_app.cli import app

runner = CliRunner()
GHI = Path(__file__).parents[2] / "fixtures" / "surplus" / "ghi_1min_golden_co_2018-10-14_broken_clouds.csv"
CARS = [
    {
        "arrive_utc": "2018-10-14T15:00:00Z",
        "depart_utc": "2018-10-14T23:30:00Z",
        "energy_wh": 30000,
        "max_a": 16,
        "phases": 3,
        "switch_phases": True,
    },
    {
        "arrive_utc": "2018-10-14T16:00:00Z",
        "depart_utc": "2018-10-14T22:00:00Z",
        "energy_wh": 8000,
        "max_a": 16,
        "phases": 1,
        "car_max_a": 10,
    },
]
KEYS = {
    "ev_energy_wh",
    "ev_solar_wh",
    "ev_grid_wh",
    "solar_share",
    "profiles_sent",
    "start_stop_cycles",
    "phase_switches",
    "unmet_energy_wh",
}


def invoke(tmp_path: Path, *args: str, cars: object = CARS) -> tuple[int, str, str]:
    ev = tmp_path / "ev.json"
    ev.write_text(json.dumps(cars))
    base = ["simulate-surplus", "--pv", str(GHI), "--ev", str(ev)]
    result = runner.invoke(app, [*base, *args])
    return result.exit_code, result.stdout, result.stderr


def run_mode(tmp_path: Path, mode: str) -> dict:
    code, out, err = invoke(
        tmp_path,
        "--kwp",
        "12",
        "--load-w",
        "500",
        "--mode",
        mode,
        "--latitude",
        "39.74",
        "--longitude",
        "-105.18",
    )
    assert code == 0, err
    return json.loads(out)


def test_pv_only_summary_has_the_promised_keys_and_balances(tmp_path: Path) -> None:
    body = run_mode(tmp_path, "pv-only")
    assert set(body) >= KEYS
    assert body["ev_solar_wh"] + body["ev_grid_wh"] == pytest.approx(body["ev_energy_wh"], abs=0.2)
    assert body["ev_energy_wh"] > 10000
    assert body["ev_grid_wh"] <= 0.02 * body["ev_energy_wh"]
    assert body["profiles_sent"] >= body["starts"] >= 2  # both cars charged; every start is a profile
    assert body["start_stop_cycles"] == sum(car["start_stop_cycles"] for car in body["cars"])
    assert body["start_stop_cycles"] == body["starts"] - sum(car["energy_wh"] > 0 for car in body["cars"])
    assert body["phase_switches"] <= 10
    slow = next(car for car in body["cars"] if car["car_id"] == "car-2")
    assert slow["energy_wh"] > 0
    assert body["unmet_energy_wh"] == pytest.approx(
        sum(car["wanted_wh"] - car["energy_wh"] for car in body["cars"]), abs=1.0
    )
    assert body["site_cap_exceeded_s"] == 0


def test_pv_priority_meets_the_departures_that_pv_only_cannot(tmp_path: Path) -> None:
    pv_only = run_mode(tmp_path, "pv-only")
    priority = run_mode(tmp_path, "pv-priority")
    assert pv_only["unmet_energy_wh"] > 1000
    assert priority["unmet_energy_wh"] < 0.02 * 38000
    assert priority["ev_grid_wh"] > pv_only["ev_grid_wh"]


def test_pv_watts_column_and_load_csv(tmp_path: Path) -> None:
    pv = tmp_path / "pv.csv"
    pv.write_text("time_utc,pv_w\n2018-10-14T15:00:00Z,5000\n2018-10-14T23:30:00Z,5000\n")
    load = tmp_path / "load.csv"
    load.write_text("time_utc,load_w\n2018-10-14T15:00:00Z,1000\n")
    ev = tmp_path / "ev.json"
    ev.write_text(json.dumps(CARS[:1]))
    result = runner.invoke(
        app,
        [
            "simulate-surplus",
            "--pv",
            str(pv),
            "--load",
            str(load),
            "--ev",
            str(ev),
            "--mode",
            "pv-only",
            "--step-s",
            "10",
            "--control-s",
            "30",
        ],
    )
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    # 4 kW of surplus all day: the car charges on one phase or three, all from the sun
    assert body["ev_solar_wh"] >= 0.98 * body["ev_energy_wh"] > 20000


@pytest.mark.parametrize(
    ("args", "cars", "field"),
    [
        (["--mode", "solar"], CARS, "--mode"),
        (["--mode", "pv-only", "--load-w", "500"], CARS, "--kwp"),
        (["--mode", "pv-only", "--kwp", "10"], CARS, "--load/--load-w"),
        (["--mode", "pv-only", "--kwp", "10", "--load-w", "5", "--control-s", "5"], CARS, "--control-s"),
        (
            ["--mode", "pv-only", "--kwp", "10", "--load-w", "5"],
            [{**CARS[0], "energy_wh": None}],
            "EV.json[0].energy_wh",
        ),
        (
            ["--mode", "pv-only", "--kwp", "10", "--load-w", "5"],
            [{**CARS[0], "phases": 2}],
            "EV.json[0].phases",
        ),
        (
            ["--mode", "pv-only", "--kwp", "10", "--load-w", "5"],
            [{**CARS[0], "depart_utc": "soon"}],
            "EV.json[0].depart_utc",
        ),
        (
            ["--mode", "pv-only", "--kwp", "10", "--load-w", "5"],
            [{**CARS[0], "max_a": 3}],
            "EV.json[0].max_a",
        ),
        (
            ["--mode", "pv-only", "--kwp", "10", "--load-w", "5"],
            [{**CARS[0], "charger_id": "x"}, {**CARS[1], "charger_id": "x"}],
            "charger_id x",
        ),
        (["--mode", "pv-only", "--kwp", "10", "--load-w", "5"], {"cars": []}, "EV.json"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    tmp_path: Path, args: list[str], cars: object, field: str
) -> None:
    code, out, err = invoke(tmp_path, *args, cars=cars)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and field in err and "Traceback" not in err


def test_bad_csv_row_names_row_and_column(tmp_path: Path) -> None:
    pv = tmp_path / "pv.csv"
    pv.write_text("time_utc,pv_w\n2018-10-14T15:00:00Z,5000\n2018-10-14T15:01:00Z,lots\n")
    ev = tmp_path / "ev.json"
    ev.write_text(json.dumps(CARS))
    result = runner.invoke(
        app, ["simulate-surplus", "--pv", str(pv), "--load-w", "0", "--ev", str(ev), "--mode", "pv-only"]
    )
    assert result.exit_code == 2
    assert "PV.csv row 3, pv_w: not a number" in result.stderr


def test_eco_plus_buys_the_missing_energy_in_the_cheapest_hours(tmp_path: Path) -> None:
    # A car plugged in overnight, no sun at all: eco-plus must meet the departure from the grid,
    # and it should do so in the two cheap hours, not at the expensive start of the night.
    pv = tmp_path / "pv.csv"
    pv.write_text("time_utc,pv_w\n2024-01-01T18:00:00Z,0\n2024-01-02T06:00:00Z,0\n")
    prices = tmp_path / "prices.csv"
    hours = [0.40, 0.40, 0.35, 0.30, 0.10, 0.10, 0.30, 0.30, 0.35, 0.40, 0.40, 0.40]
    prices.write_text(
        "time_utc,price_per_kwh\n"
        + "".join(
            f"2024-01-{1 + (18 + h) // 24:02d}T{(18 + h) % 24:02d}:00:00Z,{p}\n" for h, p in enumerate(hours)
        )
    )
    ev = tmp_path / "ev.json"
    car = {
        "arrive_utc": "2024-01-01T18:00:00Z",
        "depart_utc": "2024-01-02T06:00:00Z",
        "energy_wh": 10000,
        "max_a": 16,
        "phases": 3,
    }
    ev.write_text(json.dumps([car]))
    args = ["simulate-surplus", "--pv", str(pv), "--load-w", "300", "--ev", str(ev), "--prices", str(prices)]
    eco = runner.invoke(app, [*args, "--mode", "eco-plus"])
    assert eco.exit_code == 0, eco.stderr
    body = json.loads(eco.stdout)
    assert body["unmet_energy_wh"] == 0 and body["ev_grid_wh"] == pytest.approx(10000, abs=1)
    # 11 kWh planned (10 % margin) at 11 kW fits the cheap hours 22:00-24:00: one start, at 0.10/kWh
    assert body["starts"] == 1
    assert body["ev_grid_cost"] == pytest.approx(10 * 0.10, abs=0.01)
    pv_only = json.loads(runner.invoke(app, [*args, "--mode", "pv-only"]).stdout)
    assert pv_only["ev_energy_wh"] == 0 and pv_only["unmet_energy_wh"] == 10000
