"""TC_B_02 / TC_A_09 across two CSMS nodes (a real second process, one database, one Redis): a charger's
password changed through one node, or by the operator, reaches every node at once, not at the next
admission-directory reload (30 s). In the OCTT's full run, A_09 changes and then restores CP201_SP1's
password while the station is on the TLS node; B_02 then connects to the other node with the restored
password and must stay connected through the operator's registration switch."""

from __future__ import annotations

import asyncio

from csms_helpers import CsmsProcess, add_charger_with_password, add_tenant
from rawcp import RawChargePoint
from test_csms_identity import refused

from pipelet_app.db import session_scope
from pipelet_app.ocpp.chargers import set_basic_auth_password
from pipelet_app.ocpp.commands import notify_identity_changed, password_handover, send_command
from pipelet_app.ocpp.server import CsmsServer

V201 = ("ocpp2.0.1",)


def accept_set_variables(payload: dict) -> dict:
    return {
        "setVariableResult": [
            {"attributeStatus": "Accepted", "component": i["component"], "variable": i["variable"]}
            for i in payload["setVariableData"]
        ]
    }


async def test_TC_B_02_password_changed_on_one_node_reaches_the_other_at_once(
    node_a: CsmsServer, node_b: CsmsProcess
) -> None:
    charger_id, first = add_charger_with_password("CS-NODES", add_tenant("op-nodes"))
    url_a, url_b = f"ws://127.0.0.1:{node_a.port}", f"ws://127.0.0.1:{node_b.port}"

    # Node B admits the station once: it now holds the password's hash and the credentials that passed.
    async with RawChargePoint(url_b, "CS-NODES", V201, password=first) as cp:
        assert (await cp.boot201())["status"] == "Accepted"

    # The station moves to node A, which hands it a new password (TC_A_09); it accepts.
    second = "the-second-password-2"
    async with RawChargePoint(url_a, "CS-NODES", V201, password=first) as cp:
        assert (await cp.boot201())["status"] == "Accepted"
        cp.responders["SetVariables"] = accept_set_variables
        name, payload = password_handover("2.0.1", second)
        answer = await send_command("CS-NODES", name, payload)
        assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"
    # Node B learnt it at once: the old password no longer opens a socket there, the new one does.
    assert await refused(url_b, "CS-NODES", subprotocols=V201, password=first) == 401
    async with RawChargePoint(url_b, "CS-NODES", V201, password=second) as cp:
        assert (await cp.boot201())["status"] == "Accepted"

    # The operator restores the first password (new salt, new hash) from outside any node, as the
    # API's rotation and the OCTT runner do; then B_02's socket on node B goes through a registration
    # change (the operator's Pending/Accepted switch, another identity notice) and must stay open.
    with session_scope() as db:
        set_basic_auth_password(db, charger_id, first)
    await notify_identity_changed("CS-NODES")
    assert await refused(url_b, "CS-NODES", subprotocols=V201, password=second) == 401
    async with RawChargePoint(url_b, "CS-NODES", V201, password=first) as cp:
        assert (await cp.boot201())["status"] == "Accepted"
        await notify_identity_changed("CS-NODES")
        await asyncio.sleep(0.5)
        await cp.ok("Heartbeat", {})
        assert cp.ws is not None and cp.ws.close_code is None
