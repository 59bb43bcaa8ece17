"""OCPP 2.0.1 CSMS test cases of block O (display messages) by their OCTT ids, over raw sockets: the
operator's Set/Get/Clear go through the command bus, what the station shows is stored and read back
through the API."""

from __future__ import annotations

import httpx
import pytest
from csms_helpers import add_charger, add_tenant, url_of
from rawcp import RawChargePoint
from test_csms_api_commands import operator_key

from pipelet_app.api import build_api
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.server import CsmsServer

V201 = ("ocpp2.0.1",)


@pytest.fixture
def operator() -> dict[str, str]:
    tenant = add_tenant("op-o")
    add_charger("CS-O", tenant_id=tenant)
    return operator_key(tenant, "ops@op-o.test")


def message(message_id: int, content: str, priority: str = "NormalCycle", **extra: object) -> dict:
    return {
        "id": message_id,
        "priority": priority,
        "message": {"format": "UTF8", "language": "en", "content": content},
        **extra,
    }


async def shown(headers: dict[str, str]) -> list[tuple[int, str, str]]:
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as api:
        answer = await api.get("/api/v1/chargers/CS-O/display-messages", headers=headers)
        foreign = await api.get(
            "/api/v1/chargers/CS-O/display-messages", headers=operator_key(add_tenant("o-other"), "x@o.test")
        )
    assert answer.status_code == 200, answer.text
    assert foreign.status_code == 404
    return [(m["id"], m["content"], m["source"]) for m in answer.json()]


async def station(csms: CsmsServer) -> RawChargePoint:
    cp = RawChargePoint(url_of(csms), "CS-O", subprotocols=V201)
    await cp.connect()
    assert (await cp.boot201())["status"] == "Accepted"
    return cp


async def test_TC_O_01_set_and_TC_O_12_replace_a_display_message(csms: CsmsServer, operator: dict) -> None:
    cp = await station(csms)
    try:
        received: list[dict] = []
        cp.responders["SetDisplayMessage"] = lambda p: received.append(p) or {"status": "Accepted"}
        assert await send_command("CS-O", "set-display-message", {"message": message(1, "Welcome")}) == {
            "status": "Accepted"
        }
        assert received[0]["message"]["message"]["content"] == "Welcome"
        await send_command("CS-O", "set-display-message", {"message": message(1, "Welcome back")})
        cp.responders["SetDisplayMessage"] = lambda p: {
            "status": "NotSupportedPriority"
        }  # TC_O_17: not stored
        answer = await send_command(
            "CS-O", "set-display-message", {"message": message(2, "x", "AlwaysFront")}
        )
        assert answer == {"status": "NotSupportedPriority"}
    finally:
        await cp.close()
    assert await shown(operator) == [(1, "Welcome back", "set")]


async def test_TC_O_02_get_all_display_messages(csms: CsmsServer, operator: dict) -> None:
    cp = await station(csms)
    try:
        asked: list[dict] = []
        cp.responders["GetDisplayMessages"] = lambda p: asked.append(p) or {"status": "Accepted"}
        assert await send_command("CS-O", "get-display-messages", {}) == {"status": "Accepted"}
        [request] = asked
        assert set(request) == {"requestId"}  # id, priority and state omitted
        await cp.ok(
            "NotifyDisplayMessages",
            {
                "requestId": request["requestId"],
                "messageInfo": [message(7, "Out of order", "InFront", state="Faulted")],
            },
        )
    finally:
        await cp.close()
    assert await shown(operator) == [(7, "Out of order", "reported")]


async def test_TC_O_03_no_display_messages_configured(csms: CsmsServer, operator: dict) -> None:
    cp = await station(csms)
    try:
        cp.responders["SetDisplayMessage"] = lambda p: {"status": "Accepted"}
        await send_command("CS-O", "set-display-message", {"message": message(3, "stale")})
        cp.responders["GetDisplayMessages"] = lambda p: {"status": "Unknown"}
        assert await send_command("CS-O", "get-display-messages", {}) == {"status": "Unknown"}
    finally:
        await cp.close()
    assert await shown(operator) == []  # the station shows nothing: neither do we


async def test_TC_O_04_clear_and_TC_O_05_unknown_key(csms: CsmsServer, operator: dict) -> None:
    cp = await station(csms)
    try:
        cp.responders["SetDisplayMessage"] = lambda p: {"status": "Accepted"}
        for i in (4, 5):
            await send_command("CS-O", "set-display-message", {"message": message(i, f"m{i}")})
        cp.responders["ClearDisplayMessage"] = lambda p: {"status": "Accepted"}
        assert await send_command("CS-O", "clear-display-message", {"id": 4}) == {"status": "Accepted"}
        cp.responders["ClearDisplayMessage"] = lambda p: {"status": "Unknown"}
        assert await send_command("CS-O", "clear-display-message", {"id": 99}) == {"status": "Unknown"}
    finally:
        await cp.close()
    assert await shown(operator) == [(5, "m5", "set")]


@pytest.mark.parametrize(
    ("tc", "filters"),
    [("TC_O_07", {"id": [7]}), ("TC_O_08", {"priority": "InFront"}), ("TC_O_09", {"state": "Charging"})],
)
async def test_get_a_specific_display_message(
    csms: CsmsServer, operator: dict, tc: str, filters: dict
) -> None:
    cp = await station(csms)
    try:
        asked: list[dict] = []
        cp.responders["GetDisplayMessages"] = lambda p: asked.append(p) or {"status": "Accepted"}
        await send_command("CS-O", "get-display-messages", filters)
        assert {k: asked[0][k] for k in filters} == filters and "requestId" in asked[0]
        cp.responders["GetDisplayMessages"] = lambda p: {"status": "Unknown"}  # TC_O_11: nothing matches
        assert await send_command("CS-O", "get-display-messages", filters) == {"status": "Unknown"}
    finally:
        await cp.close()
