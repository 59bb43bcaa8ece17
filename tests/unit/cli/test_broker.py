"""`pipelet run`'s embedded broker: started only where nothing listens on a loopback MQTT_URL, and then
with logins only (the site credentials themselves: tests/integration/sites/test_mqtt_credentials.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import aiomqtt
import pytest

from pipelet_app.cli.broker import broker_program, listening, mosquitto_binary
from pipelet_app.site_energy.consumer import broker_login
from pipelet_app.site_energy.embedded_broker import consumer_url, dynsec_plugin, embedded_urls
from tests.pipelet_process import free_port


def test_an_answering_broker_is_left_alone(tmp_path: Path) -> None:
    if not listening("127.0.0.1", 1883):
        pytest.skip("no broker on 127.0.0.1:1883")
    program, line, env = broker_program("mqtt://127.0.0.1:1883", dict(os.environ), tmp_path)
    assert program is None and "already running" in line and env == {}


def test_a_remote_broker_is_not_started(tmp_path: Path) -> None:
    program, line, env = broker_program("mqtt://192.0.2.1:1883", dict(os.environ), tmp_path)
    assert program is None and "does not answer" in line and env == {}


def test_no_anonymous_broker_without_the_dynamic_security_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOSQUITTO_DYNSEC_PLUGIN", str(tmp_path / "missing.so"))
    program, line, env = broker_program(f"mqtt://127.0.0.1:{free_port()}", dict(os.environ), tmp_path)
    assert program is None and "dynamic security plugin is missing" in line and env == {}


def test_nothing_listening_starts_mosquitto_that_takes_only_logins(database: str, tmp_path: Path) -> None:
    """`database`: the broker reads the site credentials at its start (`pipelet run` migrates first)."""
    if mosquitto_binary() is None or dynsec_plugin() is None:
        pytest.skip("mosquitto or its dynamic security plugin is not installed (scripts/bootstrap.sh)")
    port = free_port()
    program, line, env = broker_program(f"mqtt://127.0.0.1:{port}", dict(os.environ), tmp_path / "mqtt")
    assert program is not None and "embedded" in line and program.ready is not None
    assert set(env) == {"MQTT_URL", "MQTT_ADMIN_URL"} and "***" not in line
    assert all(broker_login(url)[1] not in line for url in env.values())
    assert not program.ready()
    child = subprocess.Popen(list(program.argv), start_new_session=True)
    try:

        async def roundtrip() -> bytes:
            for _ in range(100):
                if program.ready():
                    break
                await asyncio.sleep(0.1)
            with pytest.raises(aiomqtt.MqttError):  # anonymous: refused at connect
                async with aiomqtt.Client("127.0.0.1", port):
                    pass
            user, password = broker_login(env["MQTT_URL"])
            async with aiomqtt.Client("127.0.0.1", port, username=user, password=password) as sub:
                await sub.subscribe("pipelet/sites/1/measurements", qos=1)
                # the consumer reads; it may not write (no site has a credential here)
                async with aiomqtt.Client("127.0.0.1", port, username=user, password=password) as pub:
                    await pub.publish("pipelet/sites/1/measurements", b"forged", qos=1)
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(anext(aiter(sub.messages)), 0.7)
            return b"ok"

        assert asyncio.run(roundtrip()) == b"ok"
        conf = (tmp_path / "mqtt" / "mosquitto.conf").read_text()
        assert "allow_anonymous false" in conf and f"listener {port} 127.0.0.1" in conf
        assert (tmp_path / "mqtt").stat().st_mode & 0o777 == 0o700
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(10)


def test_a_worker_beside_pipelet_run_logs_in_to_its_broker_by_itself(tmp_path: Path) -> None:
    """`pipelet worker` reads MQTT_URL from .env, without the login `pipelet run` handed its children:
    where the embedded broker's config says it listens there, the consumer takes the embedded login."""
    (tmp_path / "mosquitto.conf").write_text("listener 18830 127.0.0.1\nallow_anonymous false\n")
    ours = consumer_url("mqtt://127.0.0.1:18830", tmp_path)
    assert ours == embedded_urls("127.0.0.1", 18830)["MQTT_URL"]
    assert broker_login(ours)[0] == "pipelet-consumer"
    for url in (
        "mqtt://me:secret@127.0.0.1:18830",  # a login given is kept
        "mqtt://127.0.0.1:1883",  # another broker
        "mqtt://broker.internal:18830",
    ):
        assert consumer_url(url, tmp_path) == url
    assert consumer_url("mqtt://127.0.0.1:18830", tmp_path / "none") == "mqtt://127.0.0.1:18830"
