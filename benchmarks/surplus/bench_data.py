"""The surplus benchmarks' input data, for every script that runs the controller over the benchmark's
days (run.py, renewals.py, sweep.py, probe.py, profile_bound.py, ../loop_memory/policy.py): the days of
sun and the car sessions from the shared data folder (../shared/data beside the repo), or with --smoke
the committed sample (`smoke/`: the broken-cloud day and the workplace day's ACN sessions, so CI needs no
../shared). Imported as `bench_data`: the scripts put this folder on sys.path."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1].parent / "shared" / "data"
DAYS = {
    "broken": "pv/ghi_1min_golden_co_2018-10-14_broken_clouds.csv",
    "clear": "pv/ghi_1min_golden_co_2018-10-18_clear.csv",
}
SESSIONS = "sessions/acn_caltech_2019-05_2019-08.csv"
SMOKE = HERE / "smoke"


def data_files(
    parser: argparse.ArgumentParser, smoke: bool, data: Path, days: Iterable[str]
) -> tuple[dict[str, Path], Path]:
    """The irradiance file of each day and the sessions file: with `smoke` the committed broken-cloud
    day and its sessions, else `days` and the sessions from the folder `data`. A missing file is the
    parser's error."""
    if smoke:
        files = {"broken": SMOKE / "ghi_1min_golden_co_2018-10-14_broken_clouds.csv"}
        sessions = SMOKE / "acn_caltech_2019-05-07.csv"
    else:
        files = {day: data / DAYS[day] for day in days}
        sessions = data / SESSIONS
    for path in [*files.values(), sessions]:
        if not path.exists():
            parser.error(f"data file {path} not found (../shared/data beside the repo, or use --smoke)")
    return files, sessions
