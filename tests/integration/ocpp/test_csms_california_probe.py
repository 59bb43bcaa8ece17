"""The CSMS asks a 1.6 charger for OCA California Pricing support itself: after an accepted
BootNotification, a charger that has not declared `CustomDisplayCostAndPrice` gets a GetConfiguration
for that key, once the Boot answer is out (the charger holds the question unanswered while it goes on
talking). The answer is stored; unknownKey, a CallError or no answer are recorded as not supported,
and only a new firmware is asked again. Raw sockets, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from csms_helpers import add_charger, url_of
from rawcp import RawChargePoint
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import DeviceVariable
from pipelet_app.ocpp import running_cost
from pipelet_app.ocpp.server import CsmsServer
from tests.integration.running_csms import running_csms
from tests.waiting import wait_for

KEY = "CustomDisplayCostAndPrice"
COMMAND_TIMEOUT_S = 1.0


@pytest.fixture
async def csms(database: str) -> AsyncIterator[CsmsServer]:
    async with running_csms(command_timeout_s=COMMAND_TIMEOUT_S) as server:
        yield server


def _records(charger_id: int) -> dict[tuple[str, str], str | None]:
    with session_scope() as db:
        rows = db.exec(
            select(DeviceVariable).where(
                DeviceVariable.charger_id == charger_id, DeviceVariable.variable == KEY
            )
        ).all()
        return {(row.component, row.variable_instance): row.value for row in rows}


def _enabled(charger_id: int) -> bool:
    with session_scope() as db:
        return running_cost.california_enabled(db, charger_id)


async def _asked(cp: RawChargePoint) -> list:
    """Booted (the answer in hand before anything is answered back), then the CSMS's question."""
    cp.answers_california_probe = False
    del cp.responders["GetConfiguration"]  # this charger answers by hand
    boot = await cp.boot16(firmwareVersion="1.0")
    assert boot["status"] == "Accepted"
    question = await cp.next_server_call()
    assert question[2:] == ["GetConfiguration", {"key": [KEY]}]
    return question


async def test_a_charger_that_declares_the_key_is_asked_after_its_boot_and_the_answer_stored(
    csms: CsmsServer,
) -> None:
    charger_id = add_charger("CP-CA")
    async with RawChargePoint(url_of(csms), "CP-CA") as cp:
        question = await _asked(cp)
        # the charger goes on talking before it answers: nothing waits for the question
        assert "currentTime" in await cp.ok("Heartbeat", {})
        assert (
            await cp.ok(
                "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
            )
        ) == {}
        await cp.answer(question, {"configurationKey": [{"key": KEY, "readonly": True, "value": "true"}]})
        await wait_for(
            lambda: _records(charger_id) == {("OCPP16", ""): "true"}, what="the declared key stored"
        )
    assert _enabled(charger_id)

    # declared: the next boot asks nothing
    async with RawChargePoint(url_of(csms), "CP-CA") as cp:
        cp.answers_california_probe = False
        del cp.responders["GetConfiguration"]
        await cp.boot16(firmwareVersion="1.0")
        await cp.ok("Heartbeat", {})
        with pytest.raises(TimeoutError):
            await cp.next_server_call(timeout=COMMAND_TIMEOUT_S)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"configurationKey": [], "unknownKey": [KEY]}, "unknownKey"),
        (
            {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "60"}]},
            "not in the answer",
        ),
        (["NotSupported", "no configuration here", {}], "CallError NotSupported"),
        (None, "no answer"),
    ],
)
async def test_a_charger_that_cannot_say_is_recorded_as_not_supporting_it(
    csms: CsmsServer, answer: dict | list | None, reason: str
) -> None:
    charger_id = add_charger("CP-NO")
    async with RawChargePoint(url_of(csms), "CP-NO") as cp:
        question = await _asked(cp)
        if isinstance(answer, dict):
            await cp.answer(question, answer)
        elif isinstance(answer, list):
            await cp.send_raw(json.dumps([4, question[1], *answer]))
        # (None: the charger never answers; the CSMS gives up after its command timeout)
        expected = {("CSMS.Probe", "1.0"): f"not supported: {reason}"}
        await wait_for(
            lambda: _records(charger_id) == expected, timeout=COMMAND_TIMEOUT_S + 5, what="the probe recorded"
        )
        assert (await cp.ok("Heartbeat", {}))["currentTime"]  # the socket is fine
    assert not _enabled(charger_id)

    # the same firmware is not asked again; a new one is
    async with RawChargePoint(url_of(csms), "CP-NO") as cp:
        cp.answers_california_probe = False
        del cp.responders["GetConfiguration"]
        await cp.boot16(firmwareVersion="1.0")
        with pytest.raises(TimeoutError):
            await cp.next_server_call(timeout=COMMAND_TIMEOUT_S)
        await cp.boot16(firmwareVersion="2.0")
        question = await cp.next_server_call()
        assert question[2:] == ["GetConfiguration", {"key": [KEY]}]
        await cp.answer(question, {"configurationKey": [{"key": KEY, "readonly": False, "value": "true"}]})
        await wait_for(lambda: ("OCPP16", "") in _records(charger_id), what="the new firmware's answer")
    assert _enabled(charger_id)
