"""Bad input, credentials, duplicate sockets and liveness: the connection-level promises of the CSMS."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import pytest
from csms_helpers import add_charger, add_charger_with_password, charger_row, url_of
from rawcp import RawChargePoint, utc_now
from sqlmodel import select
from websockets.exceptions import InvalidStatus

from pipelet_app.db import session_scope
from pipelet_app.db.models import SecurityEvent
from pipelet_app.ocpp.base import MAX_MESSAGE_BYTES
from pipelet_app.ocpp.server import CsmsServer
from tests.waiting import wait_for


@pytest.mark.parametrize(
    ("version", "frame", "expected_id", "code16", "code201"),
    [
        ("", "this is not json", "-1", "FormationViolation", "FormatViolation"),
        ("", '{"an": "object"}', "-1", "ProtocolError", "RpcFrameworkError"),
        ("", "[]", "-1", "ProtocolError", "RpcFrameworkError"),
        ("", '[7, "m-7", "Heartbeat", {}]', "m-7", "ProtocolError", "MessageTypeNotSupported"),
        ("", '[2, 12, "Heartbeat", {}]', "-1", "ProtocolError", "RpcFrameworkError"),
        ("", '[2, "m-3", "Heartbeat"]', "m-3", "ProtocolError", "RpcFrameworkError"),
        ("", '[2, "m-4", "Heartbeat", []]', "m-4", "FormationViolation", "FormatViolation"),
        ("", '[2, "m-5", "NoSuchAction", {}]', "m-5", "NotImplemented", "NotImplemented"),
    ],
)
@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_malformed_frames_get_the_right_callerror_and_the_socket_stays(
    csms: CsmsServer, subprotocol: str, version: str, frame: str, expected_id: str, code16: str, code201: str
) -> None:
    add_charger("CP-BAD")
    async with RawChargePoint(url_of(csms), "CP-BAD", subprotocols=(subprotocol,)) as cp:
        await cp.send_raw(frame)
        answer = await cp.next_response()
        assert answer[0] == 4 and answer[1] == expected_id
        assert answer[2] == (code16 if subprotocol == "ocpp1.6" else code201)
        assert isinstance(answer[3], str) and isinstance(answer[4], dict)
        assert (await cp.call("Heartbeat", {}))[0] == 3  # still connected and served


async def test_known_action_without_handler_is_not_supported(csms: CsmsServer) -> None:
    """The `ocpp` library swaps these two codes; OCPP-J says known-but-unsupported = NotSupported."""
    add_charger("CP-NS")
    async with RawChargePoint(url_of(csms), "CP-NS") as cp:
        # GetConfiguration is a CSMS→charger action: known to 1.6, never handled when a charger sends it.
        answer = await cp.call("GetConfiguration", {})
        assert answer[2] == "NotSupported"
        assert (await cp.call("MadeUpAction", {}))[2] == "NotImplemented"


@pytest.mark.parametrize(
    ("subprotocol", "payload", "code"),
    [
        ("ocpp1.6", {"chargePointVendor": "x"}, "ProtocolError"),
        ("ocpp1.6", {"chargePointVendor": 5, "chargePointModel": "m"}, "TypeConstraintViolation"),
        ("ocpp1.6", {"chargePointVendor": "x" * 21, "chargePointModel": "m"}, "PropertyConstraintViolation"),
        ("ocpp1.6", {"chargePointVendor": "x", "chargePointModel": "m", "extra": 1}, "FormationViolation"),
        ("ocpp2.0.1", {"reason": "PowerUp"}, "OccurrenceConstraintViolation"),
        (
            "ocpp2.0.1",
            {"reason": "Sunshine", "chargingStation": {"model": "m", "vendorName": "v"}},
            "PropertyConstraintViolation",
        ),
    ],
)
async def test_schema_violations(csms: CsmsServer, subprotocol: str, payload: dict, code: str) -> None:
    add_charger("CP-SCHEMA")
    async with RawChargePoint(url_of(csms), "CP-SCHEMA", subprotocols=(subprotocol,)) as cp:
        answer = await cp.call("BootNotification", payload)
        assert answer[0] == 4 and answer[2] == code
    assert charger_row("CP-SCHEMA").vendor == ""  # nothing applied


async def test_bad_timestamp_is_a_format_violation_and_nothing_is_stored(csms: CsmsServer) -> None:
    add_charger("CP-TS")
    async with RawChargePoint(url_of(csms), "CP-TS") as cp:
        answer = await cp.call(
            "StatusNotification",
            {"connectorId": 1, "status": "Available", "errorCode": "NoError", "timestamp": "yesterday"},
        )
        assert answer[2] == "FormationViolation"


async def test_oversize_message_is_refused_with_its_id(csms: CsmsServer) -> None:
    add_charger("CP-BIG")
    async with RawChargePoint(url_of(csms), "CP-BIG") as cp:
        blob = "x" * (MAX_MESSAGE_BYTES + 10)
        await cp.send_raw(json.dumps([2, "big-1", "DataTransfer", {"vendorId": "v", "data": blob}]))
        answer = await cp.next_response()
        assert answer[:3] == [4, "big-1", "FormationViolation"]
        assert (await cp.call("Heartbeat", {}))[0] == 3


async def test_answer_to_unknown_call_is_dropped(csms: CsmsServer) -> None:
    add_charger("CP-ORPHAN")
    async with RawChargePoint(url_of(csms), "CP-ORPHAN") as cp:
        await cp.send_raw(json.dumps([3, "never-sent", {"status": "Accepted"}]))
        await cp.send_raw(json.dumps([4, "never-sent-2", "GenericError", "", {}]))
        assert await cp.no_response(0.3)
        assert (await cp.call("Heartbeat", {}))[0] == 3


async def test_tc_085_basic_auth_and_failed_attempts_are_security_events(csms: CsmsServer) -> None:
    add_charger("CP-AUTH", password="s3cret-passw0rd")
    async with RawChargePoint(url_of(csms), "CP-AUTH", password="s3cret-passw0rd") as cp:
        assert (await cp.boot16())["status"] == "Accepted"
    for password in ("wrong-password", None):
        with pytest.raises(InvalidStatus) as refused:
            await RawChargePoint(url_of(csms), "CP-AUTH", password=password).connect()
        assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus):  # right password, wrong user name
        await RawChargePoint(
            url_of(csms), "CP-AUTH", password="s3cret-passw0rd", username="CP-OTHER"
        ).connect()
    with session_scope() as s:
        events = s.exec(select(SecurityEvent).where(SecurityEvent.charge_point_id == "CP-AUTH")).all()
        assert len(events) == 3 and {e.source for e in events} == {"csms"}
        assert all(e.event_type == "InvalidChargePointCredentials" for e in events)
        assert not any("s3cret" in (e.tech_info or "") for e in events)


async def test_second_authenticated_connection_replaces_the_first(csms: CsmsServer) -> None:
    """The charger proved itself again and speaks on the new socket: its old socket is most likely
    half-open, the new one wins (docs/charger-identity.md; the impostor cases are in test_csms_identity,
    probes that never speak in test_octt_201_a_sockets)."""
    _, password = add_charger_with_password("CP-DUP")
    first = RawChargePoint(url_of(csms), "CP-DUP", password=password)
    await first.connect()
    await first.boot16()
    async with RawChargePoint(
        url_of(csms), "CP-DUP", subprotocols=("ocpp2.0.1",), password=password
    ) as second:
        assert (await second.call("Heartbeat", {}))[0] == 3
        assert first.ws is not None
        await asyncio.wait_for(first.ws.wait_closed(), 5)
        assert first.ws.close_code == 1000
        # reconnect with another version handled
        await wait_for(lambda: charger_row("CP-DUP").ocpp_version == "2.0.1", what="2.0.1 stored")
        assert charger_row("CP-DUP").is_online
        assert list(csms.connections) == ["CP-DUP"]
        assert csms.connections["CP-DUP"].ocpp_version == "2.0.1"
    await first.close()
    await wait_for(lambda: not charger_row("CP-DUP").is_online)


async def test_dead_peer_is_marked_offline_within_two_ping_intervals(db: str) -> None:
    """A socket whose peer stops answering pings (no close frame, no FIN) must not stay online."""
    add_charger("CP-GHOST")
    server = CsmsServer("127.0.0.1", 0, node_id="ping-node", ping_interval_s=0.3)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                "GET /ocpp/CP-GHOST HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
            ).encode()
        )
        status_line = await reader.readline()
        assert b"101" in status_line
        await wait_for(lambda: charger_row("CP-GHOST").is_online, 2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        # We never read (so never answer pings) and never close.
        await wait_for(lambda: not charger_row("CP-GHOST").is_online, 3)
        assert loop.time() - started <= 2 * 0.3 + 0.5
        writer.close()
    finally:
        await server.stop()


async def test_heartbeat_interval_and_utc_z_everywhere(csms: CsmsServer) -> None:
    add_charger("CP-Z")
    async with RawChargePoint(url_of(csms), "CP-Z", subprotocols=("ocpp2.0.1",)) as cp:
        boot = await cp.boot201()
        assert boot["currentTime"].endswith("Z") and "+00:00" not in boot["currentTime"]
        assert (await cp.ok("Heartbeat", {}))["currentTime"].endswith("Z")
        await cp.ok(
            "StatusNotification",
            {"timestamp": utc_now(), "connectorStatus": "Available", "evseId": 1, "connectorId": 1},
        )


async def test_refused_messages_are_in_the_message_log(csms: CsmsServer) -> None:
    from pipelet_app.db.models import OcppMessage

    add_charger("CP-LOG")
    async with RawChargePoint(url_of(csms), "CP-LOG") as cp:
        await cp.send_raw("{broken")
        await cp.next_response()
        await cp.call("BootNotification", {"chargePointVendor": "x"})
        await cp.ok("Heartbeat", {})

    def logged() -> set[tuple]:
        with session_scope() as s:
            return {(m.action, m.error_code, m.payload[:7]) for m in s.exec(select(OcppMessage)).all()}

    await wait_for(lambda: ("Heartbeat", None, "{}") in logged(), what="the Heartbeat logged")
    rows = logged()
    assert ("", "FormationViolation", "{broken") in rows
    assert ("BootNotification", "ProtocolError", '{"charg') in rows
    assert ("Heartbeat", None, "{}") in rows
