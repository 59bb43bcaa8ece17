"""`pipelet run` and `pipelet csms`: the embedded deployment on one machine.

`run` migrates, seeds the demo, then supervises the Reflex app (web + API, production build, one port),
the CSMS, and an MQTT broker where none listens on MQTT_URL (`cli.broker`) with `runtime.supervisor`:
each in its own process group, restarted with back-off when it dies, so a crashed web worker leaves
chargers connected and a crashed CSMS comes back by itself.
Ctrl-C stops all.
"""

from __future__ import annotations

import os
import signal
import sys
import urllib.request
from pathlib import Path

import typer

from pipelet_app.cli._errors import friendly_errors
from pipelet_app.cli.broker import broker_program
from pipelet_app.runtime.supervisor import Program, Supervisor
from pipelet_app.settings import Settings, ensure_secret_key, get_settings
from pipelet_app.site_energy.embedded_broker import embedded_dir

ROOT = Path(__file__).resolve().parents[2]


def _child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("REFLEX_USE_SYSTEM_BUN", "1")
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    # bootstrap.sh puts a Node >= 22 here when the system's is older (Reflex warns on every start otherwise)
    node_dir = ROOT / ".venv" / "node" / "node_modules" / ".bin"
    if (node_dir / "node").exists():
        env["PATH"] = str(node_dir) + os.pathsep + env["PATH"]
    env.update(extra)
    return env


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def csms_program(auto_register: bool) -> Program:
    """The CSMS child; auto-registration only when asked for (`--auto-register` or CSMS_AUTO_REGISTER=1)."""
    extra = {"CSMS_AUTO_REGISTER": "1"} if auto_register else {}
    return Program(
        "csms",
        [sys.executable, str(ROOT / "csms_server.py"), "--no-migrate"],
        env=_child_env(**extra),
        cwd=ROOT,
    )


def web_program(settings: Settings) -> Program:
    port = str(settings.web_port)
    announced: list[bool] = []

    def announce(_program: Program) -> None:
        if announced:
            return  # a restart: the supervisor's log line says it is back
        announced.append(True)
        typer.echo(f"Web app:  {settings.web_url}   (API: {settings.web_url}/api/v1/openapi.json)")
        scheme = "wss" if settings.csms_tls_cert else "ws"
        typer.echo(f"CSMS:     {scheme}://localhost:{settings.csms_port}/ocpp/<charge_point_id>")
        typer.echo("Ready. Ctrl-C stops everything.")

    start = [sys.executable, "-m", "pipelet_app.runtime.web_start"]
    reflex_run = [
        "--env",
        "prod",
        "--single-port",
        "--frontend-port",
        port,
        "--backend-port",
        port,
        "--loglevel",
        "warning",
    ]
    return Program(
        "web",
        [*start, *reflex_run],
        # after a crash: back in seconds on the build there is, never a rebuild (runtime/web_start.py)
        restart_argv=[*start, "--reuse-build", *reflex_run],
        env=_child_env(),
        cwd=ROOT,
        ready=lambda: _answers(f"http://127.0.0.1:{port}/login"),
        on_ready=announce,
    )


@friendly_errors
def run(
    demo: bool = typer.Option(True, help="Seed demo data (refused logins when PUBLIC_URL is public)"),
    auto_register: bool = typer.Option(
        False,
        "--auto-register",
        help="Let unknown charge point ids register themselves, unclaimed and trusted with no id token "
        "(at most CSMS_AUTO_REGISTER_PER_MINUTE per source address); same as CSMS_AUTO_REGISTER=1",
    ),
    web: bool = typer.Option(True, help="Start the web app"),
    csms: bool = typer.Option(True, help="Start the CSMS"),
) -> None:
    """Migrate, seed the demo, start web app + CSMS (restarted if they die); Ctrl-C stops all."""
    from pipelet_app import logs
    from pipelet_app.cli.db import upgrade_database
    from pipelet_app.cli.seed import print_logins, seed_and_report
    from pipelet_app.runtime.files import harden

    logs.configure("INFO", replace=False)  # the supervisor's lines; LOG_FORMAT=text for a terminal
    os.chdir(ROOT)
    harden(ROOT)  # umask 077 for us and the children; db, WAL, .env 0600; stale state pickles gone
    ensure_secret_key()
    settings = get_settings()
    upgrade_database()
    if demo:
        print_logins(seed_and_report())

    supervisor = Supervisor()
    broker, broker_line, broker_env = broker_program(settings.mqtt_url, _child_env(), embedded_dir())
    typer.echo(broker_line)
    if broker is not None:
        supervisor.add(broker)
        # the web app's consumer and credential issuing log in to it; _child_env copies os.environ
        os.environ.update(broker_env)
    if csms:
        supervisor.add(csms_program(auto_register))
    if web:
        supervisor.add(web_program(settings))
    typer.echo("Starting (a start after a change of the pages builds the web front end: a minute)...")

    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stopping.append(signum))
    supervisor.run(lambda: bool(stopping))


@friendly_errors
def csms() -> None:
    """Run the CSMS alone (same as `python csms_server.py`)."""
    get_settings()  # a bad CSMS_PORT / CSMS_TLS_CERT is named before anything starts
    sys.path.insert(0, str(ROOT))
    import csms_server

    raise SystemExit(csms_server.main([]))
