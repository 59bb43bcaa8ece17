"""`pipelet reconstruct`: sessions from a wallbox's lifetime-counter snapshots (Inverter Hub issue).

A thin shell over `pipelet_app.domain.reconstruct`, so what an operator sees here is exactly what the
poller writes into `op_charging_sessions`.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from pipelet_app.cli._errors import BadInput, friendly_errors
from pipelet_app.domain.reconstruct import (
    ReconstructConfig,
    ReconstructedSession,
    Reconstruction,
)
from pipelet_app.domain.reconstruct import (
    reconstruct as reconstruct_sessions,
)
from pipelet_app.domain.snapshots import Snapshot, SnapshotParseError, parse_snapshots_csv


def iso_z(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a trailing Z, as every Pipelet interface writes times."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def session_json(session: ReconstructedSession) -> dict[str, Any]:
    """The exact keys interfaces.md promises; an ongoing session has `end_utc: null`."""
    return {
        "transaction_id": session.transaction_id,
        "start_utc": iso_z(session.start_utc),
        "end_utc": iso_z(session.end_utc),
        "energy_wh": round(session.energy_wh, 3),
        "reason": session.reason,
    }


def result_json(result: Reconstruction) -> dict[str, Any]:
    return {
        "sessions": [session_json(session) for session in result.sessions],
        "warnings": [str(warning) for warning in result.warnings],
    }


def read_snapshots(path: Path) -> list[Snapshot]:
    """Read and parse the CSV, turning every way it can be wrong into one line naming the place."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadInput(f"INPUT.csv: {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"INPUT.csv: cannot read {path} ({exc})") from None
    try:
        return parse_snapshots_csv(text)
    except SnapshotParseError as exc:
        raise BadInput(str(exc)) from None


@friendly_errors
def reconstruct(
    input_csv: Path = typer.Argument(..., help="CSV with time_utc, lifetime_wh[, power_w, status]"),
    interval_min: float = typer.Option(30, help="Nominal poll interval in minutes"),
    brand: str = typer.Option("generic", help="Inverter brand, part of the transaction id"),
    system: str = typer.Option("cli", help="System id, part of the transaction id"),
) -> None:
    """Print the sessions reconstructed from counter snapshots as JSON."""
    if not interval_min > 0:
        raise BadInput(f"--interval-min: must be > 0, got {interval_min:g}")
    if not brand.strip() or not system.strip():
        raise BadInput("--brand/--system: must not be empty")
    snapshots = read_snapshots(input_csv)
    config = ReconstructConfig(interval_s=interval_min * 60.0)
    result = reconstruct_sessions(snapshots, brand=brand, system=system, config=config)
    typer.echo(json.dumps(result_json(result), indent=2))
