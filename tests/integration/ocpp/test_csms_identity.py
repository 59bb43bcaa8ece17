"""Nobody can pose as a charger (issue 11, High 1 and 3, Medium 7), over real sockets:

impostors with and without the right password, a second socket with the same id, tokens at an
unclaimed charger, ids outside the safe charset, the auto-registration limit per source, and a flood
of bad passwords while another charger's Heartbeat latency is measured.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import sys
import time
from pathlib import Path

import pytest
from csms_helpers import (
    add_charger,
    add_charger_with_password,
    add_tenant,
    add_token,
    charger_row,
    url_of,
)
from rawcp import RawChargePoint, utc_now
from sqlmodel import col, select
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from pipelet_app.db import session_scope
from pipelet_app.db.models import ChargerAuthMode, ChargingSession, SecurityEvent, TenantKind
from pipelet_app.ocpp import server as server_module
from pipelet_app.ocpp.commands import notify_identity_changed
from pipelet_app.ocpp.server import CsmsServer


async def refused(url: str, cp_id: str, **kw: object) -> int:
    with pytest.raises(InvalidStatus) as caught:
        await RawChargePoint(url, cp_id, **kw).connect()  # type: ignore[arg-type]
    return caught.value.response.status_code


async def test_impostor_without_or_with_a_wrong_password_is_refused_and_the_charger_keeps_its_socket(
    csms_any: CsmsServer,
) -> None:
    operator = add_tenant("id-op")
    _, password = add_charger_with_password("ID-CP-1", tenant_id=operator)
    url = url_of(csms_any)
    async with RawChargePoint(url, "ID-CP-1", password=password) as real:
        await real.boot16()
        real_socket = csms_any.connections["ID-CP-1"]
        assert real_socket.authenticated
        assert await refused(url, "ID-CP-1") == 401
        assert await refused(url, "ID-CP-1", password="not-the-password") == 401
        assert await refused(url, "ID-CP-1", password=password, username="ID-CP-2") == 401
        assert csms_any.connections["ID-CP-1"] is real_socket  # not replaced, not closed
        assert (await real.call("Heartbeat", {}))[0] == 3
    with session_scope() as s:
        events = s.exec(
            select(SecurityEvent).where(
                SecurityEvent.charge_point_id == "ID-CP-1",
                SecurityEvent.event_type == "InvalidChargePointCredentials",
            )
        ).all()
    assert len(events) == 3 and all("127.0.0.1" in (e.tech_info or "") for e in events)


async def test_the_right_password_replaces_an_older_socket_of_the_same_charger(csms: CsmsServer) -> None:
    """Documented rule: a second *authenticated* socket that speaks wins (the first is most likely
    half-open)."""
    _, password = add_charger_with_password("ID-CP-RE", tenant_id=add_tenant("id-re"))
    first = RawChargePoint(url_of(csms), "ID-CP-RE", password=password)
    await first.connect()
    await first.boot16()
    async with RawChargePoint(url_of(csms), "ID-CP-RE", password=password) as second:
        assert (await second.call("Heartbeat", {}))[0] == 3
        assert first.ws is not None
        await asyncio.wait_for(first.ws.wait_closed(), 5)
    await first.close()


async def test_a_charger_with_basic_mode_but_no_password_is_refused(csms: CsmsServer) -> None:
    add_charger("ID-CP-NOPW", tenant_id=add_tenant("id-nopw"), auth_mode=ChargerAuthMode.BASIC)
    assert await refused(url_of(csms), "ID-CP-NOPW") == 401
    assert await refused(url_of(csms), "ID-CP-NOPW", password="guess-guess-guess") == 401


async def test_an_unauthenticated_socket_never_replaces_an_authenticated_one(csms: CsmsServer) -> None:
    """Even after the operator switched the charger to "no authentication": the live, authenticated
    socket stays and the newcomer gets 409."""
    charger_id, password = add_charger_with_password("ID-CP-SW", tenant_id=add_tenant("id-sw"))
    async with RawChargePoint(url_of(csms), "ID-CP-SW", password=password) as real:
        await real.boot16()
        with session_scope() as s:
            from pipelet_app.db.models import Charger

            row = s.get(Charger, charger_id)
            assert row is not None
            row.auth_mode = ChargerAuthMode.NONE
            s.add(row)
        await asyncio.to_thread(csms.admission.refresh)
        assert await refused(url_of(csms), "ID-CP-SW") == 409
        assert csms.connections["ID-CP-SW"].authenticated
        assert (await real.call("Heartbeat", {}))[0] == 3


async def test_no_auth_charger_a_live_socket_stays_a_dead_one_is_replaced(
    csms: CsmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "REPLACE_PROBE_S", 0.5)
    add_charger("ID-CP-OPEN", tenant_id=add_tenant("id-open"), auth_mode=ChargerAuthMode.NONE)
    async with RawChargePoint(url_of(csms), "ID-CP-OPEN") as first:
        await first.boot16()
        assert await refused(url_of(csms), "ID-CP-OPEN") == 409  # it answers pings: it stays
        assert (await first.call("Heartbeat", {}))[0] == 3

    # A socket that completed the handshake and then went silent (no pong): the newcomer takes over.
    reader, writer = await asyncio.open_connection("127.0.0.1", csms.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /ocpp/ID-CP-OPEN HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    assert b"101" in await reader.readuntil(b"\r\n\r\n")
    deadline = time.monotonic() + 5
    while "ID-CP-OPEN" not in csms.connections:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    silent = csms.connections["ID-CP-OPEN"]
    async with RawChargePoint(url_of(csms), "ID-CP-OPEN") as second:
        assert (await second.call("Heartbeat", {}))[0] == 3
        assert csms.connections["ID-CP-OPEN"] is not silent
    writer.close()


async def test_an_unclaimed_charger_accepts_no_token_and_books_nothing_to_a_driver(db: str) -> None:
    fleet = add_tenant("id-fleet", TenantKind.FLEET)
    add_token(fleet, "FLEET-CARD-1")  # exactly one tenant owns it: the old rule accepted it anywhere
    server = CsmsServer("127.0.0.1", 0, node_id="id-node", auto_register=True, ping_interval_s=30)
    await server.start()
    try:
        async with RawChargePoint(url_of(server), "ID-NEW-16") as cp:
            await cp.boot16()
            assert charger_row("ID-NEW-16").tenant_id is None
            answer = await cp.ok("Authorize", {"idTag": "FLEET-CARD-1"})
            assert answer["idTagInfo"]["status"] == "Invalid"
            started = await cp.ok(
                "StartTransaction",
                {"connectorId": 1, "idTag": "FLEET-CARD-1", "meterStart": 0, "timestamp": utc_now()},
            )
            assert started["idTagInfo"]["status"] == "Invalid"
        async with RawChargePoint(url_of(server), "ID-NEW-201", subprotocols=("ocpp2.0.1",)) as cp:
            # 2.0.1: an unclaimed station waits in Pending, and nothing it reports is taken (TC_B_30).
            assert (await cp.boot201())["status"] == "Pending"
            token = {"idToken": "FLEET-CARD-1", "type": "ISO14443"}
            assert (await cp.call("Authorize", {"idToken": token}))[2] == "SecurityError"
            refused = await cp.call(
                "TransactionEvent",
                {
                    "eventType": "Started",
                    "timestamp": utc_now(),
                    "triggerReason": "Authorized",
                    "seqNo": 0,
                    "transactionInfo": {"transactionId": "id-tx-1"},
                    "idToken": token,
                    "evse": {"id": 1, "connectorId": 1},
                },
            )
            assert refused[0] == 4 and refused[2] == "SecurityError"
    finally:
        await server.stop()
    with session_scope() as s:
        rows = s.exec(select(ChargingSession).where(col(ChargingSession.station_id).like("ID-NEW-%"))).all()
    assert [row.station_id for row in rows] == ["ID-NEW-16"]  # recorded (the energy is real), but nobody's
    assert all(row.driver_id is None for row in rows)


async def test_ids_outside_the_safe_charset_are_refused_even_with_auto_register(db: str) -> None:
    server = CsmsServer("127.0.0.1", 0, node_id="id-node", auto_register=True, ping_interval_s=30)
    await server.start()
    try:
        url = url_of(server)
        for bad in ('=HYPERLINK("evil")', "+CP", "@CP", "-CP", "CP 1", "C" * 49, "CP<b>"):
            cp = RawChargePoint(url, "x")
            cp.url = f"{url}/ocpp/{bad}".replace(" ", "%20").replace('"', "%22")
            with pytest.raises(InvalidStatus) as caught:
                await cp.connect()
            assert caught.value.response.status_code == 400, bad
        async with RawChargePoint(url, "Good_id-1.2:3") as cp:
            assert (await cp.boot16())["status"] == "Accepted"
    finally:
        await server.stop()
    with session_scope() as s:
        from pipelet_app.db.models import Charger

        ids = s.exec(select(Charger.charge_point_id)).all()
    assert ids == ["Good_id-1.2:3"]


async def test_auto_registration_is_limited_per_source(db: str) -> None:
    server = CsmsServer(
        "127.0.0.1", 0, node_id="id-node", auto_register=True, auto_register_per_minute=3, ping_interval_s=30
    )
    await server.start()
    try:
        url = url_of(server)
        for i in range(3):
            async with RawChargePoint(url, f"ID-AR-{i}") as cp:
                await cp.boot16()
        with pytest.raises(InvalidStatus) as caught:
            await RawChargePoint(url, "ID-AR-3").connect()
        assert caught.value.response.status_code == 429
        assert 1 <= int(caught.value.response.headers["Retry-After"]) <= 60
        async with RawChargePoint(url, "ID-AR-0") as cp:  # a registered one still gets in
            await cp.boot16()
    finally:
        await server.stop()
    with session_scope() as s:
        from pipelet_app.db.models import Charger

        ids = s.exec(
            select(Charger.charge_point_id).where(col(Charger.charge_point_id).like("ID-AR-%"))
        ).all()
    assert sorted(ids) == ["ID-AR-0", "ID-AR-1", "ID-AR-2"]


async def test_claiming_closes_an_unauthenticated_socket_so_the_charger_must_use_its_password(
    csms: CsmsServer,
) -> None:
    charger_id = add_charger("ID-CLAIM", auth_mode=ChargerAuthMode.BASIC)  # as auto-registration leaves it
    async with RawChargePoint(url_of(csms), "ID-CLAIM") as squatter:
        await squatter.boot16()
        from pipelet_app.operations.identity import claim_charger_row

        with session_scope() as s:
            password = claim_charger_row(s, charger_id, tenant_id=add_tenant("id-claim"), site_id=None)
        await notify_identity_changed("ID-CLAIM")  # what the claim API and page do after committing
        assert squatter.ws is not None
        await asyncio.wait_for(squatter.ws.wait_closed(), 5)
        assert squatter.ws.close_code == 1008
    assert await refused(url_of(csms), "ID-CLAIM") == 401
    async with RawChargePoint(url_of(csms), "ID-CLAIM", password=password) as real:
        assert (await real.boot16())["status"] == "Accepted"


async def test_a_rotated_password_closes_the_socket_opened_with_the_old_one(csms: CsmsServer) -> None:
    """Without a notice (another process, a missed message) the directory refresh does the same."""
    charger_id, old = add_charger_with_password("ID-ROT", tenant_id=add_tenant("id-rot"))
    async with RawChargePoint(url_of(csms), "ID-ROT", password=old) as cp:
        await cp.boot16()
        with session_scope() as s:
            from pipelet_app.ocpp.chargers import set_basic_auth_password

            set_basic_auth_password(s, charger_id, "brand-new-password-1")
        await asyncio.to_thread(csms.admission.refresh)
        csms._drop_unadmissible()
        assert cp.ws is not None
        await asyncio.wait_for(cp.ws.wait_closed(), 5)
        assert cp.ws.close_code == 1008
    assert await refused(url_of(csms), "ID-ROT", password=old) == 401
    async with RawChargePoint(url_of(csms), "ID-ROT", password="brand-new-password-1") as cp:
        assert (await cp.boot16())["status"] == "Accepted"


async def test_requiring_a_password_again_applies_at_once(csms: CsmsServer) -> None:
    charger_id = add_charger("ID-MODE", tenant_id=add_tenant("id-mode"), auth_mode=ChargerAuthMode.NONE)
    async with RawChargePoint(url_of(csms), "ID-MODE") as cp:
        await cp.boot16()
        with session_scope() as s:
            from pipelet_app.db.models import Charger

            row = s.get(Charger, charger_id)
            assert row is not None
            row.auth_mode = ChargerAuthMode.BASIC
            s.add(row)
        await notify_identity_changed("ID-MODE")
        assert cp.ws is not None
        await asyncio.wait_for(cp.ws.wait_closed(), 5)
    assert await refused(url_of(csms), "ID-MODE") == 401


async def _bad_login(url: str, cp_id: str, password: str) -> int:
    token = base64.b64encode(f"{cp_id}:{password}".encode()).decode()
    try:
        async with connect(
            f"{url}/ocpp/{cp_id}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers={"Authorization": f"Basic {token}"},
            open_timeout=30,
        ):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


@pytest.mark.timing
async def test_a_flood_of_bad_passwords_does_not_stall_another_chargers_heartbeat(
    csms: CsmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 bad passwords against 20 chargers, from another process, while a healthy charger sends a
    Heartbeat every 50 ms. The failure limits are lifted here so all 200 are checked by argon2 (on its
    own one-thread executor, at most 16 waiting); with them on, most of a flood is refused before any
    check. Before: a Heartbeat waited 19 s."""
    from pipelet_app.ocpp import admission

    monkeypatch.setattr(admission, "MAX_CHECKS_PER_SOURCE", 10_000)
    csms.admission.failures_by_id.free = csms.admission.failures_by_source.free = 10_000
    tenant = add_tenant("id-flood")
    for i in range(20):
        add_charger_with_password(f"ID-FL-{i}", tenant_id=tenant)
    _, password = add_charger_with_password("ID-HEALTHY", tenant_id=tenant)
    url = url_of(csms)
    latencies: list[float] = []
    async with RawChargePoint(url, "ID-HEALTHY", password=password) as healthy:
        await healthy.boot16()
        flood = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).with_name("flood.py")),
            url,
            "200",
            "ID-FL-",
            "20",
            stdout=asyncio.subprocess.PIPE,
        )
        output = asyncio.ensure_future(flood.communicate())
        while not output.done():
            started = time.perf_counter()
            assert (await healthy.call("Heartbeat", {}, timeout=30))[0] == 3
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        stdout, _ = await output
    assert flood.returncode == 0
    assert json.loads(stdout) == {"401": 200}  # every guess was checked by argon2, and refused
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    p50 = statistics.median(latencies)
    print(f"heartbeats={len(latencies)} p50={p50 * 1000:.1f} ms p99={p99 * 1000:.1f} ms")
    assert len(latencies) >= 5
    # Goal 0.2 s on a quiet machine; measured p50 30-40 ms, p99 0.5-0.8 s here at load average 12 on
    # two cores shared with other work. Before the separate executor and cheaper hash: 19 s.
    assert p99 < 3.0


async def test_with_limits_on_a_flood_from_one_source_is_mostly_refused_without_a_check(
    csms: CsmsServer,
) -> None:
    _, password = add_charger_with_password("ID-GUESS", tenant_id=add_tenant("id-guess"))
    url = url_of(csms)
    statuses = [await _bad_login(url, "ID-GUESS", f"guess-{i}") for i in range(12)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    assert csms.admission.failures_by_id.failures("ID-GUESS") <= 6
    # The real charger, once known on this node, is not kept out by someone guessing at its id.
    csms.admission.failures_by_id.succeeded("ID-GUESS")
    async with RawChargePoint(url, "ID-GUESS", password=password) as real:
        await real.boot16()
    for i in range(8):
        await _bad_login(url, "ID-GUESS", f"again-{i}")
    async with RawChargePoint(url, "ID-GUESS", password=password) as real:
        assert (await real.boot16())["status"] == "Accepted"
