"""OCPP 2.0.1 CSMS test cases of block N (diagnostics, monitoring, customer information) by their OCTT
ids, over raw sockets; the operator's steps go through the command bus the API uses."""

from __future__ import annotations

import httpx
import pytest
from csms_helpers import add_charger, add_tenant, charger_row, url_of
from rawcp import RawChargePoint, utc_now
from test_csms_api_commands import operator_key

from pipelet_app.api import build_api
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.errors import InvalidCommandPayload
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


TOKEN = {"idToken": "100000C01", "type": "Central"}


async def customer_information(
    cp: RawChargePoint, payload: dict, status: str = "Accepted", parts: tuple[str, ...] = ("",)
) -> tuple[dict, dict]:
    """The operator's CustomerInformation; the station answers `status` and, when accepted, sends its
    data in `parts`. Returns (the request the station got, the operator's answer)."""
    got: list[dict] = []
    cp.responders["CustomerInformation"] = lambda p: got.append(p) or {"status": status}
    answer = await send_command(cp.charge_point_id, "customer-information", payload)
    if status == "Accepted":
        for seq, data in enumerate(parts):
            notify = {
                "data": data,
                "seqNo": seq,
                "generatedAt": utc_now(),
                "requestId": got[0]["requestId"],
                "tbc": seq < len(parts) - 1,
            }
            assert await cp.ok("NotifyCustomerInformation", notify) == {}
    return got[0], answer


async def reports_via_api(station: str) -> list[dict]:
    transport = httpx.ASGITransport(app=build_api())
    tenant = charger_row(station).tenant_id
    assert tenant is not None
    async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as api:
        answer = await api.get(
            f"/api/v1/chargers/{station}/customer-information",
            headers=operator_key(tenant, f"n-{station}@op.test"),
        )
        foreign = await api.get(
            f"/api/v1/chargers/{station}/customer-information",
            headers=operator_key(add_tenant(f"other-{station}"), f"x-{station}@other.test"),
        )
    assert answer.status_code == 200, answer.text
    assert foreign.status_code == 404  # another tenant sees nothing, not even that it exists
    return answer.json()


@pytest.mark.parametrize(
    ("tc", "payload", "parts"),
    [
        ("TC_N_27", {"report": True, "clear": False, "idToken": TOKEN}, ("Name: Dana; ", "sessions: 14")),
        ("TC_N_28", {"report": True, "clear": False, "idToken": TOKEN}, ("",)),
        ("TC_N_30", {"report": True, "clear": True, "idToken": TOKEN}, ("Name: Dana (cleared)",)),
        ("TC_N_31", {"report": True, "clear": True, "idToken": TOKEN}, ("",)),
        ("TC_N_32", {"report": False, "clear": True, "idToken": TOKEN}, ("cleared",)),
        (
            "TC_N_62",
            {"report": True, "clear": True, "customerIdentifier": "OpenChargeAlliance"},
            ("id data",),
        ),
        (
            "TC_N_63",
            {
                "report": True,
                "clear": True,
                "customerCertificate": {
                    "hashAlgorithm": "SHA256",
                    "issuerNameHash": "a" * 64,
                    "issuerKeyHash": "b" * 64,
                    "serialNumber": "01",
                },
            },
            ("cert data",),
        ),
    ],
)
async def test_customer_information_is_sent_stored_and_shown(
    csms: CsmsServer, station: str, tc: str, payload: dict, parts: tuple[str, ...]
) -> None:
    async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
        await booted(cp)
        sent, answer = await customer_information(cp, payload, parts=parts)
    assert answer == {"status": "Accepted"}
    assert {k: sent[k] for k in payload} == payload and isinstance(sent["requestId"], int)
    [report] = await reports_via_api(station)
    assert report["request_id"] == sent["requestId"] and report["data"] == "".join(parts)
    assert report["parts"] == len(parts) and report["complete"]


async def test_TC_N_29_customer_information_not_accepted(csms: CsmsServer, station: str) -> None:
    async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
        await booted(cp)
        _, answer = await customer_information(
            cp, {"report": True, "clear": False, "idToken": TOKEN}, status="Rejected"
        )
    assert answer == {"status": "Rejected"}
    assert await reports_via_api(station) == []


async def test_customer_information_needs_a_customer_and_something_to_do(
    csms: CsmsServer, station: str
) -> None:
    """N09.FR.04 / N10.FR.08: refused before anything reaches the station, naming what is missing."""
    async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
        await booted(cp)
        sent: list[dict] = []
        cp.responders["CustomerInformation"] = lambda p: sent.append(p) or {"status": "Accepted"}
        with pytest.raises(InvalidCommandPayload, match="idToken, customerCertificate, customerIdentifier"):
            await send_command(station, "customer-information", {"report": True, "clear": False})
        with pytest.raises(InvalidCommandPayload, match="report or clear"):
            await send_command(
                station, "customer-information", {"report": False, "clear": False, "idToken": TOKEN}
            )
    assert sent == []


async def test_a_retried_part_is_stored_once(csms: CsmsServer, station: str) -> None:
    async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
        await booted(cp)
        notify = {"data": "x", "seqNo": 0, "generatedAt": utc_now(), "requestId": 5, "tbc": False}
        await cp.ok("NotifyCustomerInformation", notify, unique_id="nci-1")
        await cp.ok("NotifyCustomerInformation", notify, unique_id="nci-2")  # resent under a new id
    [report] = await reports_via_api(station)
    assert report["data"] == "x" and report["parts"] == 1


async def test_TC_N_46_clear_customer_information_updates_the_local_list(csms: CsmsServer) -> None:
    from csms_helpers import add_token

    from tests.waiting import wait_for

    tenant = add_tenant("op-n46")
    add_charger("CS-N46", tenant_id=tenant)
    add_token(tenant, TOKEN["idToken"])
    add_token(tenant, "OTHER-CARD")
    lists: list[dict] = []
    async with RawChargePoint(url_of(csms), "CS-N46", subprotocols=V201) as cp:
        await booted(cp)
        cp.responders["SendLocalList"] = lambda p: lists.append(p) or {"status": "Accepted"}
        await send_command("CS-N46", "send-local-list", {"fromDatabase": True})  # prerequisite
        assert lists[0]["versionNumber"] == 1 and len(lists[0]["localAuthorizationList"]) == 2
        await customer_information(cp, {"report": True, "clear": True, "idToken": TOKEN}, parts=("cleared",))
        await wait_for(lambda: len(lists) == 2, what="SendLocalList after the clear")
    update = lists[1]
    assert update["updateType"] == "Differential" and update["versionNumber"] == 2
    assert [e["idToken"]["idToken"] for e in update["localAuthorizationList"]] == [TOKEN["idToken"]]


async def test_clearing_a_customer_not_in_the_local_list_sends_no_update(
    csms: CsmsServer, station: str
) -> None:
    import asyncio

    lists: list[dict] = []
    async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
        await booted(cp)
        cp.responders["SendLocalList"] = lambda p: lists.append(p) or {"status": "Accepted"}
        await customer_information(cp, {"report": False, "clear": True, "idToken": TOKEN}, parts=("x",))
        await asyncio.sleep(0.5)
    assert lists == []
