"""The fleet dashboard's first render on the 1M-session benchmark database, in a real browser.

Goal (issue 5): first render < 2 s. Starts `pipelet run` (web only) on `pipelet_bench_fleet` (made by
`run.py`, kept unless `--drop`), signs in as the 600-driver fleet's manager and times, in Chromium, from
navigation to the drivers table (its first page: 100 of the 600 drivers) and the chart being on screen.
Side by side in the same run: the API keys page of the same user (same shell, no fleet data), so the
difference is what the fleet data costs.

    .venv/bin/python benchmarks/fleet/run.py --out benchmarks/fleet/results.json   # once, makes the DB
    .venv/bin/python benchmarks/fleet/dashboard.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks._browser_timing import chromium, first_render  # noqa: E402  (after the path)
from tests.pipelet_process import free_port, stop, wait_for  # noqa: E402

PG = os.environ.get("PIPELET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres").rsplit("/", 1)[0]
DATABASE = f"{PG}/pipelet_bench_fleet"
EMAIL, PASSWORD = "manager@fleet0.bench", "bench-password-0"


def prepare(env: dict[str, str]) -> None:
    """Schema to head (adds the session index if the DB predates it) and a password for the manager."""
    code = (
        "from sqlmodel import select\n"
        "from pipelet_app.cli.db import upgrade_database\n"
        "from pipelet_app.db import session_scope\n"
        "from pipelet_app.db.models import User\n"
        "from pipelet_app.auth.secrets import hash_password\n"
        "upgrade_database()\n"
        "with session_scope() as db:\n"
        f"    user = db.exec(select(User).where(User.email == {EMAIL!r})).one()\n"
        f"    user.password_hash = hash_password({PASSWORD!r}); db.add(user)\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True)


def measure(base: str, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"fleet_dashboard_s": [], "api_keys_page_s": []}
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/login")
        page.fill("#email", EMAIL)
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url("**/fleet", timeout=60_000)
        page.locator("#fleet-drivers tbody tr").nth(99).wait_for(timeout=60_000)
        for _ in range(runs):
            times["fleet_dashboard_s"].append(
                first_render(
                    page, base, "/fleet", ["#fleet-drivers tbody tr >> nth=99", ".recharts-bar-rectangle"]
                )
            )
            times["api_keys_page_s"].append(first_render(page, base, "/account/api-keys", ["#api-keys"]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE,
        "PIPELET_SECRET_KEY": "bench",
        "WEB_PORT": str(port),
        "REFLEX_USE_SYSTEM_BUN": "1",
    }
    prepare(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelet_app.cli.main", "run", "--no-demo", "--no-csms"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/login", 600, proc)
        times = measure(f"http://localhost:{port}", args.runs)
    finally:
        stop(proc)
    summary = {
        key: {"p50": round(statistics.median(v), 3), "max": round(max(v), 3), "runs": len(v)}
        for key, v in times.items()
    }
    summary["goal_first_render_under_2s"] = summary["fleet_dashboard_s"]["max"] < 2.0
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
