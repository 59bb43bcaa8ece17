"""`pipelet simulate-surplus`: closed-loop PV-surplus charging simulation."""

from __future__ import annotations

from pathlib import Path

import typer

from pipelet_app.cli._errors import fail


def simulate_surplus(
    pv: Path = typer.Option(..., help="PV.csv: time_utc,pv_w (or ghi_w_m2 with --kwp)"),
    load: Path | None = typer.Option(None, help="LOAD.csv: time_utc,load_w"),
    load_w: float | None = typer.Option(None, help="Constant household load in W instead of LOAD.csv"),
    ev: Path = typer.Option(..., help="EV.json: list of arrivals"),
    mode: str = typer.Option(..., help="pv-only, pv-priority or eco-plus"),
    step_s: int = typer.Option(10, help="Simulation step in seconds"),
    control_s: int = typer.Option(30, help="Control loop period in seconds"),
    kwp: float | None = typer.Option(None, help="PV peak power when PV.csv gives irradiance"),
) -> None:
    """Print a JSON summary of a simulated site charging from PV surplus."""
    fail("simulate-surplus: not available yet (smart charging)")
