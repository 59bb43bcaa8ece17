"""The CSMS as real processes: SIGTERM / SIGKILL restarts, and two nodes sharing a database and Redis."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from csms_helpers import add_charger, add_tenant, add_token, charger_row
from rawcp import RawChargePoint, utc_now
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import ChargingSession
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.server import CsmsServer
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CsmsProcess:
    """`python csms_server.py` on a port of its own, with the test's DATABASE_URL (and REDIS_URL)."""

    def __init__(self, port: int, extra_env: dict[str, str] | None = None) -> None:
        self.port = port
        self.env = {**os.environ, "CSMS_PORT": str(port), "CSMS_PING_INTERVAL_S": "5", **(extra_env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "csms_server.py"),
                "--no-migrate",
                "--host",
                "127.0.0.1",
                "--log-level",
                "WARNING",
            ],
            env=self.env,
            cwd=ROOT,
        )
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise AssertionError("CSMS process did not start listening")

    def signal(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=15)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def processes() -> Iterator[list[CsmsProcess]]:
    started: list[CsmsProcess] = []
    yield started
    for proc in started:
        proc.stop()


def sessions() -> list[ChargingSession]:
    with session_scope() as s:
        return list(s.exec(select(ChargingSession)).all())


async def test_sigterm_marks_offline_and_exits_zero(database: str, processes: list[CsmsProcess]) -> None:
    add_charger("CP-TERM")
    csms = CsmsProcess(free_port())
    processes.append(csms)
    await csms.start()
    async with RawChargePoint(f"ws://127.0.0.1:{csms.port}", "CP-TERM") as cp:
        await cp.boot16()
        assert charger_row("CP-TERM").is_online
        assert csms.signal(signal.SIGTERM) == 0
        assert cp.ws is not None
        await asyncio.wait_for(cp.ws.wait_closed(), 5)
        assert cp.ws.close_code == 1001  # going away
    assert not charger_row("CP-TERM").is_online


async def test_restart_after_sigkill_mid_session_counts_the_session_once(
    database: str, processes: list[CsmsProcess]
) -> None:
    tenant = add_tenant("op")
    add_charger("CP-KILL", tenant_id=tenant)
    add_token(tenant, "TAG-OK")
    port = free_port()
    first = CsmsProcess(port)
    processes.append(first)
    await first.start()
    cp = RawChargePoint(f"ws://127.0.0.1:{port}", "CP-KILL")
    await cp.connect()
    await cp.boot16()
    start = await cp.ok(
        "StartTransaction", {"connectorId": 1, "idTag": "TAG-OK", "meterStart": 2000, "timestamp": utc_now()}
    )
    tx = start["transactionId"]
    await cp.ok(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [{"timestamp": utc_now(), "sampledValue": [{"value": "2600"}]}],
        },
    )
    first.signal(signal.SIGKILL)
    await cp.close()
    assert charger_row("CP-KILL").is_online  # nobody could record the crash...

    second = CsmsProcess(port)
    processes.append(second)
    await second.start()
    await wait_for(lambda: not charger_row("CP-KILL").is_online)  # ...until the node restarts
    # The charger reconnects (no reboot: its transaction is still running) and stops, retrying the
    # StopTransaction it may have sent into the dead socket.
    async with RawChargePoint(f"ws://127.0.0.1:{port}", "CP-KILL") as again:
        stop = {"transactionId": tx, "meterStop": 3000, "timestamp": utc_now(), "reason": "Local"}
        await again.ok("StopTransaction", stop, unique_id="stop-after-crash")
        await again.ok("StopTransaction", stop, unique_id="stop-after-crash")
        assert charger_row("CP-KILL").is_online
    [row] = sessions()
    assert row.end_utc is not None and row.energy_wh == 1000 and row.reason == "Local"


@pytest.fixture
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                import time

                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture
async def node_a(database: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[CsmsServer]:
    """Node A lives in the test process, like a web app process that also runs a CSMS node."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    from pipelet_app.settings import get_settings

    get_settings.cache_clear()
    server = CsmsServer("127.0.0.1", 0, node_id="node-A")
    await server.start()
    yield server
    await server.stop()


async def test_scale_out_command_reaches_the_node_holding_the_socket(
    node_a: CsmsServer, redis_url: str, processes: list[CsmsProcess]
) -> None:
    add_charger("CP-B")
    node_b = CsmsProcess(free_port(), {"REDIS_URL": redis_url})
    processes.append(node_b)
    await node_b.start()
    async with RawChargePoint(f"ws://127.0.0.1:{node_b.port}", "CP-B") as cp:
        await cp.boot16()
        cp.responders["Reset"] = lambda payload: {
            "status": "Accepted" if payload["type"] == "Soft" else "Rejected"
        }
        assert "CP-B" not in node_a.connections
        assert await send_command("CP-B", "reset", {"type": "Soft"}) == {"status": "Accepted"}
        assert await send_command("CP-B", "reset", {"type": "Hard"}) == {"status": "Rejected"}
        assert charger_row("CP-B").csms_node.endswith(f":{node_b.port}")
    import redis.asyncio as aioredis

    from pipelet_app.ocpp.errors import ChargerOffline
    from pipelet_app.ocpp.redis_bus import owner_key

    bus = aioredis.from_url(redis_url)

    async def released() -> bool:  # node B releases its claim when the socket closes
        return not await bus.exists(owner_key("CP-B"))

    try:
        await wait_for(released, what="node B's claim released")
    finally:
        await bus.aclose()
    with pytest.raises(ChargerOffline):
        await send_command("CP-B", "reset", {"type": "Soft"})


async def test_reconnect_to_another_node_closes_the_stale_socket(
    node_a: CsmsServer, redis_url: str, processes: list[CsmsProcess]
) -> None:
    add_charger("CP-MOVE")
    node_b = CsmsProcess(free_port(), {"REDIS_URL": redis_url})
    processes.append(node_b)
    await node_b.start()
    on_a = RawChargePoint(f"ws://127.0.0.1:{node_a.port}", "CP-MOVE")
    await on_a.connect()
    await on_a.boot16()
    async with RawChargePoint(f"ws://127.0.0.1:{node_b.port}", "CP-MOVE") as on_b:
        await on_b.boot16()
        assert on_a.ws is not None
        await asyncio.wait_for(on_a.ws.wait_closed(), 5)
        await wait_for(lambda: "CP-MOVE" not in node_a.connections)
        row = charger_row("CP-MOVE")
        assert row.is_online and row.csms_node.endswith(f":{node_b.port}")
        on_b.responders["ClearCache"] = lambda payload: {"status": "Accepted"}
        assert await send_command("CP-MOVE", "clear-cache") == {"status": "Accepted"}
    await on_a.close()
