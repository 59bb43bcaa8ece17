"""deploy/compose.yaml's Mosquitto, run here as the real `mosquitto` with deploy/mosquitto/mosquitto.conf
(its container paths and port mapped to a temporary directory and a free loopback port; nothing else
changed) and the plugin file the one-shot `mqtt-config` service writes (`pipelet mqtt-dynsec`, the
compose service's command, with the MQTT_URL and MQTT_ADMIN_URL compose gives it).

What must hold: no anonymous client (and the health check says healthy for exactly that); the consumer of
MQTT_URL reads every site; a site writes its own topics only and cannot take over another site's session;
a site password issued through the API after the broker started works at once, with no restart and no
re-run of the one-shot, and still after Mosquitto restarts on its own (`restart: always`).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest
import yaml
from fastapi.testclient import TestClient

from pipelet_app.cli.broker import listening, mosquitto_binary
from pipelet_app.settings import get_settings
from pipelet_app.site_energy.embedded_broker import CONFIG_FILE, dynsec_plugin
from tests.integration.api_keys import key_of, site_of
from tests.integration.sites.mqtt_clients import mqtt, received
from tests.pipelet_process import free_port

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
pytestmark = pytest.mark.skipif(
    mosquitto_binary() is None or dynsec_plugin() is None,
    reason="needs mosquitto and its dynamic security plugin (scripts/bootstrap.sh installs both)",
)
SON, NW = "operator@sonnenstrom.demo", "operator@northwind.demo"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def in_compose(url: str, password_var: str, password: str, port: int) -> str:
    """A URL of compose.yaml with its password variable filled in and the broker on our port."""
    url = re.sub(r"\$\{" + password_var + r":\?[^}]*\}", password, url)
    assert "${" not in url and "@mosquitto:1883" in url, url
    return url.replace("@mosquitto:1883", f"@127.0.0.1:{port}")


class ComposeBroker:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        services = compose()["services"]
        self.one_shot = services["mqtt-config"]
        env = self.one_shot["environment"]
        self.consumer_url = in_compose(
            env["MQTT_URL"], "MQTT_CONSUMER_PASSWORD", secrets.token_hex(24), self.port
        )
        self.admin_url = in_compose(
            env["MQTT_ADMIN_URL"], "MQTT_ADMIN_PASSWORD", secrets.token_hex(24), self.port
        )
        self.health = services["mosquitto"]["healthcheck"]["test"]
        self.dynsec = tmp_path / "dynsec"
        (tmp_path / "data").mkdir()
        conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
        for container, here in (
            ("listener 1883\n", f"listener {self.port} 127.0.0.1\n"),
            ("/usr/lib/mosquitto_dynamic_security.so", str(dynsec_plugin())),
            ("/mosquitto/dynsec/", f"{self.dynsec}/"),
            ("/mosquitto/data/", f"{tmp_path / 'data'}/"),
        ):
            assert container in conf, container
            conf = conf.replace(container, here)
        if os.geteuid() == 0:  # as root Mosquitto would become user `mosquitto`, locked out of tmp_path
            conf += "user root\n"
        self.conf = tmp_path / "mosquitto.conf"
        self.conf.write_text(conf)
        self.log = tmp_path / "mosquitto.log"
        self.proc: subprocess.Popen | None = None

    def write_users(self) -> subprocess.CompletedProcess:
        """The one-shot service's command, its `--out` mapped to our directory."""
        argv = list(self.one_shot["command"])
        assert argv[:2] == ["pipelet", "mqtt-dynsec"] and argv[-2] == "--out", argv
        volume = next(v for v in self.one_shot["volumes"] if v.endswith(":" + argv[-1]))
        assert volume == f"mosquitto-dynsec:{argv[-1]}"
        env = {**os.environ, "MQTT_URL": self.consumer_url, "MQTT_ADMIN_URL": self.admin_url}
        return subprocess.run(
            [sys.executable, "-m", "pipelet_app.cli.main", *argv[1:-1], str(self.dynsec)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=ROOT,
        )

    def start(self) -> None:
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                ["mosquitto", "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        for _ in range(200):
            assert self.proc.poll() is None, self.log.read_text()
            if listening("127.0.0.1", self.port):
                return
            asyncio.run(asyncio.sleep(0.05))
        raise AssertionError(self.log.read_text())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def healthy(self) -> bool:
        kind, command = self.health
        assert kind == "CMD-SHELL" and "-p 1883 " in command, self.health
        command = command.replace("$$", "$").replace("-p 1883 ", f"-p {self.port} ")
        return subprocess.run(["sh", "-c", command], timeout=20).returncode == 0

    @staticmethod
    def login(url: str) -> tuple[str, str]:
        from pipelet_app.site_energy.consumer import broker_login

        user, password = broker_login(url)
        assert user and password
        return user, password


@pytest.fixture
def broker(demo: dict, tmp_path: Path) -> Iterator[ComposeBroker]:
    running = ComposeBroker(tmp_path)
    yield running
    running.stop()
    get_settings.cache_clear()


def issue(client: TestClient, email: str, site_id: int) -> dict:
    answer = client.post(f"/api/v1/sites/{site_id}/mqtt-credentials", headers=key_of(email))
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_compose_broker_takes_logins_only_and_api_issued_passwords_go_live(
    client: TestClient, broker: ComposeBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_a, site_b = site_of(SON), site_of(NW)
    # Issued before the stack starts: stored only, the one-shot carries it to the broker.
    a = issue(client, SON, site_a)
    assert a["live"] is False
    run = broker.write_users()
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and a["password"] not in run.stderr
    assert broker.consumer_url.split("@")[0].split(":")[-1] not in (broker.dynsec / CONFIG_FILE).read_text()
    broker.start()
    assert broker.healthy(), broker.log.read_text()

    # The web service has MQTT_ADMIN_URL: what the API issues now goes to the running broker at once.
    web_env = compose()["services"]["web"]["environment"]
    assert web_env["MQTT_ADMIN_URL"] == broker.one_shot["environment"]["MQTT_ADMIN_URL"]
    monkeypatch.setenv("MQTT_ADMIN_URL", broker.admin_url)
    get_settings.cache_clear()
    b = issue(client, NW, site_b)
    assert b["live"] is True
    consumer = broker.login(broker.consumer_url)
    login_a, login_b = (a["username"], a["password"]), (b["username"], b["password"])

    async def scenario() -> None:
        for login in (None, (a["username"], "wrong"), (a["username"], b["password"])):
            with pytest.raises(aiomqtt.MqttError):
                async with mqtt(broker.port, login):
                    pass
        async with mqtt(broker.port, consumer) as sub:
            await sub.subscribe("$share/pipelet/pipelet/sites/+/+", qos=1)  # as the workers do
            async with mqtt(broker.port, login_b) as gateway_b:
                async with mqtt(broker.port, login_a) as pub:
                    await pub.publish(f"pipelet/sites/{site_b}/measurements", b"A into B", qos=1)
                    await pub.publish(f"pipelet/sites/{site_a}/measurements", b"A's own", qos=1)
                # A's login claiming B's gateway's client id: refused, B's session carries on.
                with pytest.raises(aiomqtt.MqttError):
                    async with mqtt(broker.port, login_a, client_id=b["client_id"]):
                        pass
                await asyncio.sleep(0.3)  # a takeover would have closed B's session by now
                await gateway_b.publish(f"pipelet/sites/{site_b}/measurements", b"B, issued live", qos=1)
            assert await received(sub) == [
                (f"pipelet/sites/{site_a}/measurements", b"A's own"),
                (f"pipelet/sites/{site_b}/measurements", b"B, issued live"),
            ]

    asyncio.run(scenario())

    # Mosquitto restarting on its own (the one-shot does not run again) still knows B's password: the
    # plugin saved it into the file the one-shot wrote.
    broker.stop()
    broker.start()

    async def after_restart() -> None:
        async with mqtt(broker.port, consumer) as sub:
            await sub.subscribe("pipelet/sites/+/+", qos=1)
            async with mqtt(broker.port, login_b) as pub:
                await pub.publish(f"pipelet/sites/{site_b}/transactions", b"after restart", qos=1)
            assert await received(sub, 0.7) == [(f"pipelet/sites/{site_b}/transactions", b"after restart")]

    asyncio.run(after_restart())
    assert broker.healthy()


def test_the_one_shot_refuses_urls_without_a_real_login(
    broker: ComposeBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fail closed: no users file, so Mosquitto (which waits for the one-shot) never starts open."""
    good_consumer, good_admin = broker.consumer_url, broker.admin_url
    for consumer, admin, said in (
        (f"mqtt://127.0.0.1:{broker.port}", good_admin, "MQTT_URL: needs a login"),
        (good_consumer, None, "MQTT_ADMIN_URL: needs a login"),
        (good_consumer, good_admin.replace(broker.login(good_admin)[1], "change-me-too"), "shorter than 16"),
        (good_consumer, good_consumer, "a user of its own"),
    ):
        broker.consumer_url, broker.admin_url = consumer, admin or ""
        run = broker.write_users()
        assert run.returncode == 2 and said in run.stderr, run.stderr
        assert not (broker.dynsec / CONFIG_FILE).exists()
