"""`pipelet reconstruct` end to end through typer: exact JSON shape, Z times, exit 2 on bad CSV."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pipelet_app.cli import app

runner = CliRunner()

CSV = """time_utc,lifetime_wh,power_w,status
2024-01-01T01:30:00Z,5550,7400,Charging
2024-01-01T00:00:00Z,0,,
2024-01-01T00:30:00Z,0,0,Available
2024-01-01T01:00:00Z,1850,7400,Charging
2024-01-01T01:00:00Z,1850,7400,Charging
2024-01-01T03:00:00+01:00,6000,0,Available
"""


def invoke(tmp_path: Path, text: str, *args: str) -> tuple[int, str, str]:
    path = tmp_path / "snapshots.csv"
    path.write_text(text)
    result = runner.invoke(app, ["reconstruct", str(path), *args])
    return result.exit_code, result.stdout, result.stderr


def test_prints_sessions_with_the_exact_keys_and_z_times(tmp_path: Path) -> None:
    code, out, _ = invoke(tmp_path, CSV, "--brand", "Fronius", "--system", "77")

    assert code == 0
    body = json.loads(out)
    assert set(body) == {"sessions", "warnings"}
    (session,) = body["sessions"]
    assert session == {
        "transaction_id": "pv-fronius-77-1704069000",
        "start_utc": "2024-01-01T00:45:00Z",
        "end_utc": "2024-01-01T01:33:39Z",
        "energy_wh": 6000.0,
        "reason": "pv-reconstructed",
    }
    assert any(w.startswith("duplicates:") for w in body["warnings"])
    assert any(w.startswith("out-of-order:") for w in body["warnings"])


def test_an_ongoing_session_has_a_null_end(tmp_path: Path) -> None:
    text = "time_utc,lifetime_wh\n2024-01-01T00:00:00Z,0\n2024-01-01T00:30:00Z,0\n2024-01-01T01:00:00Z,2000\n"

    code, out, _ = invoke(tmp_path, text)

    assert code == 0
    (session,) = json.loads(out)["sessions"]
    assert session["end_utc"] is None and session["transaction_id"] == "pv-generic-cli-1704069000"


def test_malformed_csv_exits_2_naming_row_and_column(tmp_path: Path) -> None:
    code, out, err = invoke(
        tmp_path, "time_utc,lifetime_wh\n2024-01-01T00:00:00Z,1\n2024-01-01T00:30:00Z,1O\n"
    )

    assert code == 2 and out == ""
    assert err.strip() == "error: row 3, lifetime_wh: '1O' is not a number"


def test_missing_file_and_bad_interval_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["reconstruct", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr

    code, _, err = invoke(tmp_path, CSV, "--interval-min", "0")
    assert code == 2 and "--interval-min" in err


FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "reconstruct" / "messy_wallbox.csv"


def test_messy_fixture_gives_two_sessions_across_midnight_and_a_reset() -> None:
    """Shuffled rows, a duplicate, a missed poll, standby noise, and a firmware reset mid-session.

    Session 1: 16:45-18:05 at 7.4 kW. Session 2: 22:45 to 01:02 over midnight; the counter restarted at
    zero at 00:10, so the 1,233 Wh charged between 00:00 and the reset are unknowable.
    """
    result = runner.invoke(app, ["reconstruct", str(FIXTURE), "--brand", "huawei", "--system", "NE42"])

    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert [
        (s["transaction_id"], s["start_utc"], s["end_utc"], s["energy_wh"]) for s in body["sessions"]
    ] == [
        ("pv-huawei-NE42-1714581000", "2024-05-01T16:45:00Z", "2024-05-01T18:04:52Z", 9850.0),
        ("pv-huawei-NE42-1714602600", "2024-05-01T22:45:00Z", "2024-05-02T01:02:26Z", 15717.0),
    ]
    codes = [warning.split(":")[0] for warning in body["warnings"]]
    assert codes == ["out-of-order", "duplicates", "counter-reset", "noise"]
