"""deploy/: the compose file and the systemd units name commands that exist, restart what they run, and
keep the web app and the CSMS independent of each other (neither waits for, nor stops with, the other)."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import yaml
from typer.testing import CliRunner

from pipelet_app.cli import app as cli

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
LONG_RUNNING = {"web", "csms", "worker", "postgres", "redis", "mosquitto"}


def _pipelet_command_exists(argv: list[str]) -> bool:
    """`pipelet a b ...` (or its console script path): `--help` of that subcommand answers."""
    words = [w for w in argv[1:] if not w.startswith("-")]
    return CliRunner().invoke(cli, [*words, "--help"]).exit_code == 0


def test_compose_runs_every_service_with_restart_and_health_checks() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == LONG_RUNNING | {"migrate"}
    for name in LONG_RUNNING:
        assert services[name]["restart"] == "always", name
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "csms"):
        assert not {"web", "csms"} & set(services[name].get("depends_on", {}))
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert _pipelet_command_exists(services["migrate"]["command"])
    assert _pipelet_command_exists(services["worker"]["command"])
    assert services["csms"]["command"][1:] == ["/app/csms_server.py", "--no-migrate"]
    assert (DEPLOY / "mosquitto" / "mosquitto.conf").is_file()


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read(DEPLOY / "systemd" / name)
    return parser


def test_systemd_units_restart_forever_and_stand_alone() -> None:
    for name in ("pipelet-web.service", "pipelet-csms.service", "pipelet-worker@.service"):
        unit = _unit(name)
        assert unit["Service"]["Restart"] == "always", name
        assert unit["Unit"]["StartLimitIntervalSec"] == "0", name  # never give up restarting
        assert unit["Service"]["UMask"] == "0077", name
        together = unit["Unit"].get("Requires", "") + unit["Unit"].get("BindsTo", "")
        assert "web" not in together and "csms" not in together, name
        argv = shlex.split(unit["Service"]["ExecStart"])
        if argv[0].endswith("/pipelet"):
            assert _pipelet_command_exists(argv), name
    migrate = _unit("pipelet-migrate.service")
    assert _pipelet_command_exists(shlex.split(migrate["Service"]["ExecStart"]))
    target = (DEPLOY / "systemd" / "pipelet.target").read_text()
    for wanted in ("pipelet-web.service", "pipelet-csms.service", "pipelet-worker@1.service"):
        assert wanted in target
