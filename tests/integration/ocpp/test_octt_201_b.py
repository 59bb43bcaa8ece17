"""OCPP 2.0.1 CSMS test cases of block B (provisioning) by their OCTT ids, over raw sockets.

"Configured to answer Pending" is, here, what it is in production: a station auto-registered and not yet
claimed by an operator (`ocpp/registration.py`). The operator's steps go through the real API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from csms_helpers import add_charger, add_tenant, charger_row, url_of
from rawcp import RawChargePoint, utc_now
from test_csms_api_commands import operator_key

from pipelet_app.api import build_api
from pipelet_app.auth.secrets import verify_password
from pipelet_app.db import session_scope
from pipelet_app.db.models import Site
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.operations.identity import claim_charger_row
from tests.integration.running_csms import running_csms
from tests.waiting import wait_for

V201 = ("ocpp2.0.1",)


@pytest.fixture
async def csms_auto(db: str) -> AsyncIterator[CsmsServer]:
    async with running_csms("octt-b", auto_register=True) as server:
        yield server


def status_notification() -> dict:
    return {"timestamp": utc_now(), "connectorStatus": "Available", "evseId": 1, "connectorId": 1}


def notify_event() -> dict:
    return {
        "generatedAt": utc_now(),
        "seqNo": 0,
        "eventData": [
            {
                "eventId": 1,
                "timestamp": utc_now(),
                "trigger": "Delta",
                "actualValue": "Available",
                "eventNotificationType": "HardWiredNotification",
                "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
                "variable": {"name": "AvailabilityState"},
            }
        ],
    }


def operator_with_site(slug: str) -> tuple[int, int, dict[str, str]]:
    tenant = add_tenant(slug)
    with session_scope() as s:
        site = Site(tenant_id=tenant, name=f"{slug} depot")
        s.add(site)
        s.flush()
        assert site.id is not None
        site_id = site.id
    return tenant, site_id, operator_key(tenant, f"ops@{slug}.test")


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as client:
        yield client


async def claim_online(
    api: httpx.AsyncClient, cp: RawChargePoint, slug: str, accept_password: bool = True
) -> tuple[str, list[dict]]:
    """The operator claims the station through the API while it is connected; returns the password the
    API answered and what the station was sent as SetVariables."""
    _, site_id, headers = operator_with_site(slug)
    handed: list[dict] = []
    cp.responders["SetVariables"] = lambda p: (
        handed.append(p)
        or {
            "setVariableResult": [
                {
                    "attributeStatus": "Accepted" if accept_password else "Rejected",
                    "component": item["component"],
                    "variable": item["variable"],
                }
                for item in p["setVariableData"]
            ]
        }
    )
    answer = await api.post(
        f"/api/v1/chargers/{cp.charge_point_id}/claim", json={"site_id": site_id}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["password"], handed


async def test_TC_B_02_cold_boot_pending_then_accepted(csms_auto: CsmsServer, api: httpx.AsyncClient) -> None:
    async with RawChargePoint(url_of(csms_auto), "CS-B02", subprotocols=V201) as cp:
        pending = await cp.boot201("Vendor-B", "Model-B", serialNumber="SN-B02")
        assert pending["status"] == "Pending" and pending["interval"] > 0
        row = charger_row("CS-B02")  # recorded, so the operator can recognise what to claim
        assert (row.vendor, row.serial_number, row.tenant_id) == ("Vendor-B", "SN-B02", None)
        # B02.FR.01: while Pending the CSMS may configure the station and ask for reports.
        cp.responders["GetBaseReport"] = lambda p: {"status": "Accepted"}
        cp.responders["TriggerMessage"] = lambda p: {"status": "Rejected"}  # boots by itself later
        from pipelet_app.ocpp.commands import send_command

        assert await send_command(
            "CS-B02", "get-base-report", {"requestId": 7, "reportBase": "ConfigurationInventory"}
        ) == {"status": "Accepted"}
        await cp.ok("NotifyReport", {"requestId": 7, "generatedAt": utc_now(), "seqNo": 0, "tbc": False})
        password, handed = await claim_online(api, cp, "op-b02")
        assert handed and handed[0]["setVariableData"][0]["variable"] == {"name": "BasicAuthPassword"}
        # The station retries after the interval: Accepted now, and its reports are taken.
        assert (await cp.boot201("Vendor-B", "Model-B"))["status"] == "Accepted"
        await cp.ok("StatusNotification", status_notification())
        await cp.ok("NotifyEvent", notify_event())
    row = charger_row("CS-B02")
    assert row.tenant_id is not None and row.basic_auth_hash is not None
    assert verify_password(row.basic_auth_hash, password)


async def test_TC_B_30_pending_or_rejected_station_gets_security_error(csms_auto: CsmsServer) -> None:
    async with RawChargePoint(url_of(csms_auto), "CS-B30", subprotocols=V201) as cp:
        before = await cp.call("StatusNotification", status_notification())  # before any boot
        assert before[0] == 4 and before[2] == "SecurityError"
        assert (await cp.boot201())["status"] == "Pending"
        for action, payload in (
            ("StatusNotification", status_notification()),
            ("NotifyEvent", notify_event()),
            ("Heartbeat", {}),
            ("Authorize", {"idToken": {"idToken": "X", "type": "ISO14443"}}),
        ):
            refused = await cp.call(action, payload)
            assert refused[0] == 4 and refused[2] == "SecurityError", (action, refused)
        # A malformed frame still gets its own CallError, and the socket stays.
        await cp.send_raw("[2, 'not json")
        assert (await cp.next_response())[2] == "FormatViolation"
        # Claimed by an operator while this socket (admitted without credentials) is open: Rejected, and
        # still nothing but a boot is taken until it reconnects with its password (B03.FR.07).
        tenant = add_tenant("op-b30")
        with session_scope() as s:
            claim_charger_row(s, charger_row("CS-B30").id or 0, tenant, None)
        assert (await cp.boot201())["status"] == "Rejected"
        refused = await cp.call("StatusNotification", status_notification())
        assert refused[2] == "SecurityError"
    with session_scope() as s:
        from sqlmodel import select

        from pipelet_app.db.models import Connector

        assert s.exec(select(Connector)).all() == []  # nothing reported before acceptance was taken


async def test_TC_B_31_accepted_while_pending_is_triggered_to_boot(
    csms_auto: CsmsServer, api: httpx.AsyncClient
) -> None:
    async with RawChargePoint(url_of(csms_auto), "CS-B31", subprotocols=V201) as cp:
        assert (await cp.boot201())["status"] == "Pending"
        triggered: list[dict] = []
        cp.responders["TriggerMessage"] = lambda p: triggered.append(p) or {"status": "Accepted"}
        password, _ = await claim_online(api, cp, "op-b31")
        await wait_for(lambda: bool(triggered), what="TriggerMessage(BootNotification)")
        assert triggered == [{"requestedMessage": "BootNotification"}]
        booted = await cp.ok(
            "BootNotification",
            {"chargingStation": {"vendorName": "V", "model": "M"}, "reason": "Triggered"},
        )
        assert booted["status"] == "Accepted" and booted["interval"] == csms_auto.heartbeat_interval_s
        await cp.ok("StatusNotification", status_notification())
        await cp.ok("NotifyEvent", notify_event())
        await asyncio.sleep(0.2)
        assert not cp.ws.close_code if cp.ws else False  # the socket that took the password stays
    # and the password the operator was shown is the one the station now holds
    assert verify_password(charger_row("CS-B31").basic_auth_hash or "", password)
    async with RawChargePoint(url_of(csms_auto), "CS-B31", subprotocols=V201, password=password) as cp:
        assert (await cp.boot201())["status"] == "Accepted"


async def test_claimed_station_that_refuses_the_password_is_closed(
    csms_auto: CsmsServer, api: httpx.AsyncClient
) -> None:
    async with RawChargePoint(url_of(csms_auto), "CS-NOPW", subprotocols=V201) as cp:
        assert (await cp.boot201())["status"] == "Pending"
        cp.responders["TriggerMessage"] = lambda p: {"status": "Accepted"}
        await claim_online(api, cp, "op-nopw", accept_password=False)
        assert cp.ws is not None
        await wait_for(lambda: cp.ws is not None and cp.ws.close_code == 1008, what="socket closed")


async def test_triggered_message_is_taken_while_pending(csms_auto: CsmsServer) -> None:
    """B02.FR.09: while Pending, what the CSMS asked for by TriggerMessage is taken."""
    from pipelet_app.ocpp.commands import send_command

    async with RawChargePoint(url_of(csms_auto), "CS-TRIG", subprotocols=V201) as cp:
        assert (await cp.boot201())["status"] == "Pending"
        cp.responders["TriggerMessage"] = lambda p: {"status": "Accepted"}
        await send_command(
            "CS-TRIG", "trigger-message", {"requestedMessage": "StatusNotification", "evse": {"id": 1}}
        )
        await cp.ok("StatusNotification", status_notification())
        assert (await cp.call("Heartbeat", {}))[2] == "SecurityError"  # only what was asked for


async def test_TC_B_08_get_variables_limited_to_items_per_message(csms: CsmsServer) -> None:
    from pipelet_app.ocpp.commands import send_command

    tenant = add_tenant("op-b08")
    add_charger("CS-B08", tenant_id=tenant)
    wanted = [
        ("DeviceDataCtrlr", "ItemsPerMessage", "GetReport"),
        ("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables"),
        ("DeviceDataCtrlr", "BytesPerMessage", "GetReport"),
        ("DeviceDataCtrlr", "BytesPerMessage", "GetVariables"),
        ("AuthCtrlr", "AuthorizeRemoteStart", None),
    ]
    values = {"ItemsPerMessage": "4", "BytesPerMessage": "4096", "AuthorizeRemoteStart": "true"}
    requests: list[list[dict]] = []

    def get_variables(payload: dict) -> dict:
        requests.append(payload["getVariableData"])
        return {
            "getVariableResult": [
                {
                    "attributeStatus": "Accepted",
                    "attributeValue": values[item["variable"]["name"]],
                    "component": item["component"],
                    "variable": item["variable"],
                }
                for item in payload["getVariableData"]
            ]
        }

    async with RawChargePoint(url_of(csms), "CS-B08", subprotocols=V201) as cp:
        assert (await cp.boot201())["status"] == "Accepted"
        await cp.ok("StatusNotification", status_notification())
        # Configuration state: the station reports ItemsPerMessage[GetVariables] = 4.
        await cp.ok(
            "NotifyReport",
            {
                "requestId": 1,
                "generatedAt": utc_now(),
                "seqNo": 0,
                "reportData": [
                    {
                        "component": {"name": "DeviceDataCtrlr"},
                        "variable": {"name": "ItemsPerMessage", "instance": "GetVariables"},
                        "variableAttribute": [{"value": "4", "mutability": "ReadOnly"}],
                    }
                ],
            },
        )
        cp.responders["GetVariables"] = get_variables
        request = [
            {"component": {"name": c}, "variable": {"name": v, **({"instance": i} if i else {})}}
            for c, v, i in wanted
        ]
        answer = await send_command("CS-B08", "get-configuration", {"getVariableData": request})
    assert sorted(len(r) for r in requests) == [1, 4]
    sent = [
        (r["component"]["name"], r["variable"]["name"], r["variable"].get("instance"))
        for b in requests
        for r in b
    ]
    assert sent == wanted
    results = answer["getVariableResult"]  # one answer for the operator, in the order asked
    assert [(r["variable"]["name"], r["attributeValue"]) for r in results] == [
        (v, values[v]) for _, v, _ in wanted
    ]


async def test_a_reported_limit_of_0_is_no_limit_and_the_station_is_asked_again(csms: CsmsServer) -> None:
    """A station that once answered ItemsPerMessage 0 (no valid limit) is asked again on its next
    connection before a split request, instead of being sent everything at once for good."""
    from pipelet_app.ocpp.commands import send_command

    add_charger("CS-B08Z", tenant_id=add_tenant("op-b08z"))
    answers = iter(["0", "2"])  # first the junk, then the real limit
    requests: list[list[dict]] = []

    def get_variables(payload: dict) -> dict:
        requests.append(payload["getVariableData"])
        names = {item["variable"]["name"] for item in payload["getVariableData"]}
        value = next(answers) if "ItemsPerMessage" in names else "1"
        return {
            "getVariableResult": [
                {
                    "attributeStatus": "Accepted",
                    "attributeValue": value if item["variable"]["name"] == "ItemsPerMessage" else "0",
                    "component": item["component"],
                    "variable": item["variable"],
                }
                for item in payload["getVariableData"]
            ]
        }

    three = [{"component": {"name": "AuthCtrlr"}, "variable": {"name": f"V{n}"}} for n in range(3)]
    async with RawChargePoint(url_of(csms), "CS-B08Z", subprotocols=V201) as cp:
        await cp.boot201()
        cp.responders["GetVariables"] = get_variables
        await send_command("CS-B08Z", "get-configuration", {"getVariableData": three})
        assert [len(r) for r in requests] == [2, 3]  # the limit query, then all three (no limit)
    requests.clear()
    async with RawChargePoint(url_of(csms), "CS-B08Z", subprotocols=V201) as cp:  # its next connection
        await cp.boot201()
        cp.responders["GetVariables"] = get_variables
        await send_command("CS-B08Z", "get-configuration", {"getVariableData": three})
        assert [len(r) for r in requests] == [2, 2, 1]  # asked again: 2 per message
