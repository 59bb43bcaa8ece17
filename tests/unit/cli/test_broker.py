"""`pipelet run`'s embedded broker: started only where nothing listens on a loopback MQTT_URL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import aiomqtt
import pytest

from pipelet_app.cli.broker import broker_program, listening, mosquitto_binary
from tests.pipelet_process import free_port


def test_an_answering_broker_is_left_alone() -> None:
    if not listening("127.0.0.1", 1883):
        pytest.skip("no broker on 127.0.0.1:1883")
    program, line = broker_program("mqtt://127.0.0.1:1883", dict(os.environ))
    assert program is None and "already running" in line


def test_a_remote_broker_is_not_started() -> None:
    program, line = broker_program("mqtt://192.0.2.1:1883", dict(os.environ))
    assert program is None and "does not answer" in line


def test_nothing_listening_starts_mosquitto_that_carries_messages() -> None:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (scripts/bootstrap.sh installs it)")
    port = free_port()
    program, line = broker_program(f"mqtt://127.0.0.1:{port}", dict(os.environ))
    assert program is not None and "embedded" in line and program.ready is not None
    assert not program.ready()
    child = subprocess.Popen(list(program.argv), start_new_session=True)
    try:

        async def roundtrip() -> bytes:
            for _ in range(50):
                if program.ready():
                    break
                await asyncio.sleep(0.1)
            async with aiomqtt.Client("127.0.0.1", port) as sub:
                await sub.subscribe("pipelet/sites/1/measurements", qos=1)
                async with aiomqtt.Client("127.0.0.1", port) as pub:
                    await pub.publish("pipelet/sites/1/measurements", b"{}", qos=1)
                message = await asyncio.wait_for(anext(aiter(sub.messages)), 5)
                return bytes(message.payload)

        assert asyncio.run(roundtrip()) == b"{}"
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(10)
