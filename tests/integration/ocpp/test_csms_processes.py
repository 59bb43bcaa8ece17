"""The CSMS as real processes: SIGTERM / SIGKILL restarts, and two nodes sharing a database and Redis."""

from __future__ import annotations

import asyncio
import signal

import pytest
from csms_helpers import CsmsProcess, add_charger, add_tenant, add_token, charger_row
from rawcp import RawChargePoint, utc_now
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import ChargingSession
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.server import CsmsServer
from tests.pipelet_process import free_port
from tests.waiting import wait_for


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


async def test_scale_out_command_reaches_the_node_holding_the_socket(
    node_a: CsmsServer, node_b: CsmsProcess, redis_url: str
) -> None:
    add_charger("CP-B")
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
    node_a: CsmsServer, node_b: CsmsProcess
) -> None:
    add_charger("CP-MOVE")
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
