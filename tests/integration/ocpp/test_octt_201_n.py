"""OCPP 2.0.1 CSMS test cases of block N (diagnostics, monitoring, customer information) by their OCTT
ids, over raw sockets; the operator's steps go through the command bus the API uses."""

from __future__ import annotations

import pytest
from csms_helpers import add_charger, add_tenant, url_of
from rawcp import RawChargePoint

from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.server import CsmsServer

V201 = ("ocpp2.0.1",)


async def booted(cp: RawChargePoint) -> None:
    assert (await cp.boot201())["status"] == "Accepted"


@pytest.fixture
def station() -> str:
    add_charger("CS-N", tenant_id=add_tenant("op-n"))
    return "CS-N"


async def test_TC_N_18_clear_monitoring_never_exceeds_items_per_message(
    csms: CsmsServer, station: str
) -> None:
    asked: list[dict] = []
    cleared: list[list[int]] = []

    def get_variables(payload: dict) -> dict:
        asked.append(payload)
        values = {"ItemsPerMessage": "3"}  # BytesPerMessage unknown to this station
        return {
            "getVariableResult": [
                {
                    "attributeStatus": "Accepted"
                    if item["variable"]["name"] in values
                    else "UnknownVariable",
                    **(
                        {"attributeValue": values[item["variable"]["name"]]}
                        if item["variable"]["name"] in values
                        else {}
                    ),
                    "component": item["component"],
                    "variable": item["variable"],
                }
                for item in payload["getVariableData"]
            ]
        }

    def clear(payload: dict) -> dict:
        cleared.append(payload["id"])
        return {"clearMonitoringResult": [{"id": i, "status": "Accepted"} for i in payload["id"]]}

    async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
        await booted(cp)
        cp.responders["GetVariables"] = get_variables
        cp.responders["ClearVariableMonitoring"] = clear
        answer = await send_command(station, "ClearVariableMonitoring", {"id": [1, 2, 3, 4, 5]})
        # Step 1: the CSMS asked for the limit first, once per connection.
        [query] = asked
        assert {
            (q["component"]["name"], q["variable"]["name"], q["variable"]["instance"])
            for q in query["getVariableData"]
        } == {
            ("MonitoringCtrlr", "ItemsPerMessage", "ClearVariableMonitoring"),
            ("MonitoringCtrlr", "BytesPerMessage", "ClearVariableMonitoring"),
        }
        assert cleared == [[1, 2, 3], [4, 5]]  # two requests, neither above 3
        assert [r["id"] for r in answer["clearMonitoringResult"]] == [1, 2, 3, 4, 5]
        await send_command(station, "ClearVariableMonitoring", {"id": [6, 7, 8, 9]})
        assert len(asked) == 1 and cleared[2:] == [[6, 7, 8], [9]]  # the stored limit is used
