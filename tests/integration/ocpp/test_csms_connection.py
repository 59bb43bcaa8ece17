"""Admission at the upgrade, Boot/Heartbeat, online/offline bookkeeping (TC_001, TC_088)."""

from __future__ import annotations

import asyncio
import re

import pytest
from csms_helpers import add_charger, charger_row, url_of
from rawcp import RawChargePoint
from websockets.exceptions import InvalidStatus

from pipelet_app.ocpp.server import CsmsServer
from tests.waiting import wait_for

Z_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


async def test_tc_001_cold_boot_stores_charger_and_answers_accepted(csms_any: CsmsServer) -> None:
    add_charger("CP-BOOT")
    async with RawChargePoint(url_of(csms_any), "CP-BOOT") as cp:
        assert cp.subprotocol == "ocpp1.6"
        answer = await cp.boot16(
            "ACME", "Wallbox-22", chargePointSerialNumber="SN-7", firmwareVersion="1.2.3"
        )
        assert answer["status"] == "Accepted"
        assert answer["interval"] == csms_any.heartbeat_interval_s
        assert Z_TIME.match(answer["currentTime"])
        row = charger_row("CP-BOOT")
        assert (row.vendor, row.model, row.serial_number, row.firmware_version) == (
            "ACME",
            "Wallbox-22",
            "SN-7",
            "1.2.3",
        )
        assert row.ocpp_version == "1.6" and row.is_online and row.last_boot_at is not None
        heartbeat = await cp.ok("Heartbeat", {})
        assert Z_TIME.match(heartbeat["currentTime"])
    await wait_for(lambda: not charger_row("CP-BOOT").is_online)


async def test_boot_201(csms: CsmsServer) -> None:
    add_charger("CP-201")
    async with RawChargePoint(url_of(csms), "CP-201", subprotocols=("ocpp2.0.1",)) as cp:
        assert cp.subprotocol == "ocpp2.0.1"
        answer = await cp.boot201("ACME", "Station", serialNumber="S-1", firmwareVersion="9")
        assert answer["status"] == "Accepted" and Z_TIME.match(answer["currentTime"])
        assert Z_TIME.match((await cp.ok("Heartbeat", {}))["currentTime"])
        row = charger_row("CP-201")
        assert (row.vendor, row.serial_number, row.ocpp_version) == ("ACME", "S-1", "2.0.1")


async def test_tc_088_subprotocol_negotiation(csms: CsmsServer) -> None:
    add_charger("CP-NEG")
    # The charger's first acceptable preference wins.
    async with RawChargePoint(url_of(csms), "CP-NEG", subprotocols=("ocpp1.5", "ocpp2.0.1", "ocpp1.6")) as cp:
        assert cp.subprotocol == "ocpp2.0.1"
    with pytest.raises(InvalidStatus) as refused:
        await RawChargePoint(url_of(csms), "CP-NEG", subprotocols=("ocpp1.5",)).connect()
    assert refused.value.response.status_code == 400
    with pytest.raises(InvalidStatus) as refused:
        await RawChargePoint(url_of(csms), "CP-NEG", subprotocols=()).connect()
    assert refused.value.response.status_code == 400


async def test_unknown_charge_point_refused_at_upgrade(csms: CsmsServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await RawChargePoint(url_of(csms), "CP-STRANGER").connect()
    assert refused.value.response.status_code == 404
    with pytest.raises(InvalidStatus) as wrong_path:
        cp = RawChargePoint(url_of(csms), "x")
        cp.url = url_of(csms) + "/elsewhere/x"
        await cp.connect()
    assert wrong_path.value.response.status_code == 404


async def test_auto_register_creates_unclaimed_charger(db: str) -> None:
    server = CsmsServer("127.0.0.1", 0, node_id="auto-node", auto_register=True)
    await server.start()
    try:
        async with RawChargePoint(url_of(server), "CP-NEW") as cp:
            assert (await cp.boot16())["status"] == "Accepted"
            row = charger_row("CP-NEW")
            assert row.tenant_id is None and row.is_online and row.csms_node == "auto-node"
    finally:
        await server.stop()


async def test_stop_marks_chargers_offline(db: str) -> None:
    add_charger("CP-STOP")
    server = CsmsServer("127.0.0.1", 0, node_id="stop-node")
    await server.start()
    cp = RawChargePoint(url_of(server), "CP-STOP")
    await cp.connect()
    await cp.boot16()
    assert charger_row("CP-STOP").is_online
    await server.stop()
    assert not charger_row("CP-STOP").is_online
    await cp.close()


async def test_chargers_of_a_dead_node_are_swept_offline(csms: CsmsServer) -> None:
    """A node that died and never came back cannot mark its chargers offline; the others do."""
    from datetime import UTC, datetime, timedelta

    from pipelet_app.db import session_scope
    from pipelet_app.ocpp.chargers import find_charger

    add_charger("CP-ORPHANED")
    add_charger("CP-HERE")
    with session_scope() as s:
        row = find_charger(s, "CP-ORPHANED")
        assert row is not None
        row.is_online, row.csms_node = True, "dead-node:9000"
        row.last_seen_at = datetime.now(UTC) - timedelta(hours=1)
        s.add(row)
    async with RawChargePoint(url_of(csms), "CP-HERE") as cp:
        await cp.boot16()
        await asyncio.to_thread(csms._sweep, 60)
        assert not charger_row("CP-ORPHANED").is_online
        assert charger_row("CP-HERE").is_online


def test_message_log_pruning(db: str) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlmodel import select

    from pipelet_app.db import session_scope
    from pipelet_app.db.models import OcppMessage
    from pipelet_app.ocpp.chargers import prune_message_log

    with session_scope() as s:
        for age in (1, 40):
            s.add(
                OcppMessage(
                    charge_point_id="CP",
                    direction="in",
                    unique_id=str(age),
                    action="Heartbeat",
                    payload="{}",
                    created_at=datetime.now(UTC) - timedelta(days=age),
                )
            )
    with session_scope() as s:
        assert prune_message_log(s, 30) == 1
    with session_scope() as s:
        assert [m.unique_id for m in s.exec(select(OcppMessage)).all()] == ["1"]


async def test_connection_is_closed_when_its_online_state_cannot_be_recorded(
    csms: CsmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelet_app.ocpp import chargers

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database down")

    add_charger("CP-NODB")
    monkeypatch.setattr(chargers, "mark_connected", broken)
    cp = RawChargePoint(url_of(csms), "CP-NODB")
    await cp.connect()
    assert cp.ws is not None
    await asyncio.wait_for(cp.ws.wait_closed(), 5)
    assert cp.ws.close_code == 1011
    assert "CP-NODB" not in csms.connections
    await cp.close()
