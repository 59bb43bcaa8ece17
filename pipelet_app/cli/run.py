"""`pipelet run` and `pipelet csms`: the embedded deployment on one machine.

`run` migrates, seeds the demo, then supervises two children — the Reflex app (web + API, production
build, one port) and the CSMS — and stops both when either exits or on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import typer

from pipelet_app.cli._errors import friendly_errors
from pipelet_app.settings import ensure_secret_key, get_settings

ROOT = Path(__file__).resolve().parents[2]


def _child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("REFLEX_USE_SYSTEM_BUN", "1")
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)


@friendly_errors
def run(
    demo: bool = typer.Option(True, help="Seed demo data and turn on CSMS auto-registration"),
    web: bool = typer.Option(True, help="Start the web app"),
    csms: bool = typer.Option(True, help="Start the CSMS"),
) -> None:
    """Migrate, seed the demo, start web app + CSMS; Ctrl-C stops all."""
    from pipelet_app.cli.db import upgrade_database
    from pipelet_app.cli.seed import print_logins, seed_and_report

    os.chdir(ROOT)
    ensure_secret_key()
    settings = get_settings()
    upgrade_database()
    if demo:
        print_logins(seed_and_report())

    children: list[subprocess.Popen] = []
    if csms:
        extra = {"CSMS_AUTO_REGISTER": "1"} if demo else {}
        children.append(
            subprocess.Popen(
                [sys.executable, str(ROOT / "csms_server.py"), "--no-migrate"],
                env=_child_env(**extra),
                start_new_session=True,
            )
        )
    if web:
        port = str(settings.web_port)
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "reflex",
                    "run",
                    "--env",
                    "prod",
                    "--single-port",
                    "--frontend-port",
                    port,
                    "--backend-port",
                    port,
                    "--loglevel",
                    "warning",
                ],
                env=_child_env(),
                cwd=ROOT,
                start_new_session=True,
            )
        )
    typer.echo("Starting (the first start builds the web front end, which takes a minute)...")

    stopping = False

    def _on_signal(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    announced = not web
    try:
        while not stopping and all(child.poll() is None for child in children):
            if not announced and _answers(f"http://127.0.0.1:{settings.web_port}/login"):
                announced = True
                typer.echo(f"Web app:  {settings.web_url}   (API: {settings.web_url}/api/v1/openapi.json)")
                typer.echo(f"CSMS:     ws://localhost:{settings.csms_port}/ocpp/<charge_point_id>")
                typer.echo("Ready. Ctrl-C stops everything.")
            time.sleep(0.5)
    finally:
        _stop(children)
    failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
    if failed and not stopping:
        raise SystemExit(1)


@friendly_errors
def csms() -> None:
    """Run the CSMS alone (same as `python csms_server.py`)."""
    sys.path.insert(0, str(ROOT))
    import csms_server

    raise SystemExit(csms_server.main([]))
