"""A second socket under one charge point id, over raw sockets (docs/charger-identity.md).

OCTT TC_A_04 and TC_A_07 keep the station's socket open, open and close further sockets under the same
id with valid credentials (one per TLS cipher suite), then boot on the first one. A reconnecting
station, on the other hand, speaks at once on its new socket, and its old one is half-open. The rule:
a newcomer takes over when it sends its first frame, or at once when the current socket fails a ping;
a probe that closes without speaking leaves the station's connection untouched; a socket without
credentials never replaces an authenticated one.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator

import pytest
from csms_helpers import CsmsProcess, add_charger_with_password, add_tenant, charger_row, url_of
from rawcp import RawChargePoint
from test_csms_identity import refused

from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargerAuthMode
from pipelet_app.ocpp import server as server_module
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.server import CsmsServer
from tests.waiting import wait_for

V201 = ("ocpp2.0.1",)


def held(cp_id: str) -> str:
    return add_charger_with_password(cp_id, add_tenant(f"op-{cp_id.lower()}"))[1]


def clear_cache_answer(payload: dict) -> dict:
    return {"status": "Accepted"}


async def silent_socket(port: int, cp_id: str, password: str) -> asyncio.StreamWriter:
    """A socket that completes an authenticated upgrade and then never reads again: no pong, no frame
    (what the CSMS sees of a station whose network dropped without a FIN)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    basic = base64.b64encode(f"{cp_id}:{password}".encode()).decode()
    writer.write(
        (
            f"GET /ocpp/{cp_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: ocpp2.0.1\r\nAuthorization: Basic {basic}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
    return writer


@pytest.fixture
async def fast_probe(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    monkeypatch.setattr(server_module, "REPLACE_PROBE_S", 0.5)
    yield


async def test_TC_A_04_A_07_probes_that_close_without_speaking_leave_the_station_connected(
    csms: CsmsServer,
) -> None:
    password = held("CS-PROBE")
    url = url_of(csms)
    async with RawChargePoint(url, "CS-PROBE", V201, password=password) as station:
        await wait_for(lambda: "CS-PROBE" in csms.connections, what="the station registered")
        first = csms.connections["CS-PROBE"]
        for _ in range(4):  # one per cipher suite in the OCTT; same id, same valid credentials
            probe = RawChargePoint(url, "CS-PROBE", V201, password=password)
            await probe.connect()
            await probe.close()
        await asyncio.sleep(0.3)
        assert csms.connections["CS-PROBE"] is first and not first.closed
        assert csms.waiting.get("CS-PROBE") is None
        assert station.ws is not None and station.ws.close_code is None
        assert (await station.boot201())["status"] == "Accepted"
        station.responders["ClearCache"] = clear_cache_answer
        assert await send_command("CS-PROBE", "clear-cache") == {"status": "Accepted"}
    await wait_for(lambda: not charger_row("CS-PROBE").is_online, what="offline after the last close")


async def test_commands_go_to_the_socket_that_spoke(csms: CsmsServer) -> None:
    password = held("CS-SPOKE")
    url = url_of(csms)
    async with RawChargePoint(url, "CS-SPOKE", V201, password=password) as first:
        assert (await first.boot201())["status"] == "Accepted"
        first.responders["ClearCache"] = lambda p: {"status": "Accepted"}
        async with RawChargePoint(url, "CS-SPOKE", V201, password=password) as second:
            second.responders["ClearCache"] = lambda p: {"status": "Rejected"}
            await wait_for(lambda: "CS-SPOKE" in csms.waiting, what="the second socket waiting")
            # The second is silent and the first answers pings: the first is still the connection.
            await asyncio.sleep(0.2)
            assert await send_command("CS-SPOKE", "clear-cache") == {"status": "Accepted"}
            assert (await second.boot201())["status"] == "Accepted"  # it speaks: it takes over
            assert first.ws is not None
            await asyncio.wait_for(first.ws.wait_closed(), 5)
            assert first.ws.close_code == 1000
            assert await send_command("CS-SPOKE", "clear-cache") == {"status": "Rejected"}
            assert charger_row("CS-SPOKE").is_online
        await wait_for(lambda: not charger_row("CS-SPOKE").is_online, what="offline")


async def test_reconnect_after_half_open_takes_over_at_once(csms: CsmsServer, fast_probe: None) -> None:
    """The old socket answers nothing: the station's new socket is the connection within the ping
    probe, even before it speaks; and when it speaks at once, at once."""
    password = held("CS-HALF")
    stale = await silent_socket(csms.port, "CS-HALF", password)
    await wait_for(lambda: "CS-HALF" in csms.connections, what="the soon-dead socket registered")
    dead = csms.connections["CS-HALF"]
    try:
        async with RawChargePoint(url_of(csms), "CS-HALF", V201, password=password) as station:
            station.responders["ClearCache"] = clear_cache_answer
            # Silent reconnect (no reboot): the dead socket fails the ping probe, the new one takes over.
            await wait_for(lambda: csms.connections.get("CS-HALF") not in (None, dead), what="taken over")
            assert await send_command("CS-HALF", "clear-cache") == {"status": "Accepted"}
            assert charger_row("CS-HALF").is_online
        stale2 = await silent_socket(csms.port, "CS-HALF", password)
        try:
            await wait_for(lambda: "CS-HALF" in csms.connections, what="registered again")
            async with RawChargePoint(url_of(csms), "CS-HALF", V201, password=password) as station:
                assert (await station.boot201())["status"] == "Accepted"  # speaks at once: taken over
                assert csms.connections["CS-HALF"].closed is False
                assert charger_row("CS-HALF").is_online
        finally:
            stale2.close()
    finally:
        stale.close()


async def test_the_waiting_socket_takes_over_when_the_station_socket_closes(csms: CsmsServer) -> None:
    password = held("CS-NEXT")
    url = url_of(csms)
    first = RawChargePoint(url, "CS-NEXT", V201, password=password)
    await first.connect()
    assert (await first.boot201())["status"] == "Accepted"
    async with RawChargePoint(url, "CS-NEXT", V201, password=password) as second:
        second.responders["ClearCache"] = clear_cache_answer
        await wait_for(lambda: "CS-NEXT" in csms.waiting, what="the second socket waiting")
        await first.close()
        await wait_for(lambda: "CS-NEXT" not in csms.waiting, what="the waiting one took over")
        assert await send_command("CS-NEXT", "clear-cache") == {"status": "Accepted"}
        assert charger_row("CS-NEXT").is_online
    await wait_for(lambda: not charger_row("CS-NEXT").is_online, what="offline")


async def test_an_unauthenticated_socket_never_replaces_an_authenticated_one_even_half_open(
    csms: CsmsServer, fast_probe: None
) -> None:
    """The operator allowed the charger without authentication; its authenticated socket has gone
    silent. A newcomer without credentials still gets 409 (the ping loop drops the silent one)."""
    password = held("CS-NOAUTH")
    stale = await silent_socket(csms.port, "CS-NOAUTH", password)
    try:
        await wait_for(lambda: "CS-NOAUTH" in csms.connections, what="registered")
        with session_scope() as s:
            row = s.get(Charger, charger_row("CS-NOAUTH").id)
            assert row is not None
            row.auth_mode = ChargerAuthMode.NONE
            s.add(row)
        await asyncio.to_thread(csms.admission.refresh)
        assert await refused(url_of(csms), "CS-NOAUTH", subprotocols=V201) == 409
        assert csms.connections["CS-NOAUTH"].authenticated and "CS-NOAUTH" not in csms.waiting
    finally:
        stale.close()


async def test_a_probe_on_another_node_leaves_the_station_alone_a_reconnect_takes_over(
    node_a: CsmsServer, node_b: CsmsProcess
) -> None:
    password = held("CS-XNODE")
    url_b = f"ws://127.0.0.1:{node_b.port}"
    async with RawChargePoint(url_of(node_a), "CS-XNODE", V201, password=password) as station:
        assert (await station.boot201())["status"] == "Accepted"
        station.responders["ClearCache"] = clear_cache_answer
        probe = RawChargePoint(url_b, "CS-XNODE", V201, password=password)
        await probe.connect()
        await probe.close()
        await asyncio.sleep(0.5)
        assert station.ws is not None and station.ws.close_code is None
        assert await send_command("CS-XNODE", "clear-cache") == {"status": "Accepted"}
    await wait_for(lambda: not charger_row("CS-XNODE").is_online, what="offline")

    # Half-open on node A, silent reconnect on node B: B asks A, A's socket fails the ping, B takes over.
    stale = await silent_socket(node_a.port, "CS-XNODE", password)
    try:
        await wait_for(lambda: "CS-XNODE" in node_a.connections, what="on node A")
        async with RawChargePoint(url_b, "CS-XNODE", V201, password=password) as station:
            station.responders["ClearCache"] = lambda p: {"status": "Rejected"}
            await wait_for(
                lambda: charger_row("CS-XNODE").csms_node.endswith(f":{node_b.port}"),
                timeout=15,
                what="node B took over",
            )
            await wait_for(lambda: "CS-XNODE" not in node_a.connections, what="node A dropped its socket")
            assert await send_command("CS-XNODE", "clear-cache") == {"status": "Rejected"}
    finally:
        stale.close()
