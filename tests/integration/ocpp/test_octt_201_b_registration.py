"""TC_B_02 / TC_B_30 / TC_B_31 for a station an operator already holds: the operator sets its registration
status (`PUT /api/v1/chargers/{id}/registration`) and the CSMS answers the next BootNotification with it,
over raw OCPP 2.0.1 sockets (the OCTT's "CSMS configured to respond Pending/Rejected" precondition).
The unclaimed-station variant of the same cases is in test_octt_201_b.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from csms_helpers import add_charger_with_password, add_tenant, charger_row, url_of
from rawcp import RawChargePoint
from test_csms_api_commands import operator_key
from test_octt_201_b import notify_event, status_notification

from pipelet_app.api import build_api
from pipelet_app.db import session_scope
from pipelet_app.db.models import AuditEvent, Connector, Role, User
from pipelet_app.ocpp.server import CsmsServer
from tests.waiting import wait_for

V201 = ("ocpp2.0.1",)


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as client:
        yield client


async def set_status(api: httpx.AsyncClient, cp_id: str, status: str, headers: dict) -> httpx.Response:
    return await api.put(
        f"/api/v1/chargers/{cp_id}/registration", json={"registration_status": status}, headers=headers
    )


def held(slug: str, cp_id: str) -> tuple[str, dict[str, str]]:
    """An accepted station of an operator: (its password, the operator's API headers)."""
    tenant = add_tenant(slug)
    _, password = add_charger_with_password(cp_id, tenant)
    return password, operator_key(tenant, f"ops@{slug}.test")


async def test_TC_B_02_operator_pending_then_accepted(csms: CsmsServer, api: httpx.AsyncClient) -> None:
    password, headers = held("op-rb02", "CS-RB02")
    async with RawChargePoint(url_of(csms), "CS-RB02", subprotocols=V201, password=password) as cp:
        assert (await cp.boot201())["status"] == "Accepted"
        answer = await set_status(api, "CS-RB02", "Pending", headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["registration_status"] == "Pending"
        pending = await cp.boot201()  # the next boot (a reboot) is held back
        assert pending["status"] == "Pending" and pending["interval"] > 0
        refused = await cp.call("StatusNotification", status_notification())
        assert refused[0] == 4 and refused[2] == "SecurityError"
        cp.responders["TriggerMessage"] = lambda p: {"status": "Rejected"}  # it boots after the interval
        assert (await set_status(api, "CS-RB02", "Accepted", headers)).status_code == 200
        assert (await cp.boot201())["status"] == "Accepted"
        await cp.ok("StatusNotification", status_notification())
        await cp.ok("NotifyEvent", notify_event())
    with session_scope() as s:
        from sqlmodel import select

        changes = s.exec(
            select(AuditEvent).where(AuditEvent.action == "RegistrationStatusChanged").order_by(AuditEvent.id)
        ).all()
        assert [c.changes["registration_status"] for c in changes] == [
            ["Accepted", "Pending"],
            ["Pending", "Accepted"],
        ]


async def test_TC_B_30_operator_pending_or_rejected_gets_security_error(
    csms: CsmsServer, api: httpx.AsyncClient
) -> None:
    password, headers = held("op-rb30", "CS-RB30")
    for status in ("Pending", "Rejected"):
        assert (await set_status(api, "CS-RB30", status, headers)).status_code == 200
        async with RawChargePoint(url_of(csms), "CS-RB30", subprotocols=V201, password=password) as cp:
            assert (await cp.boot201())["status"] == status
            for action, payload in (
                ("StatusNotification", status_notification()),
                ("NotifyEvent", notify_event()),
            ):
                refused = await cp.call(action, payload)
                assert refused[0] == 4 and refused[2] == "SecurityError", (status, action, refused)
    with session_scope() as s:
        from sqlmodel import select

        assert s.exec(select(Connector)).all() == []  # nothing it reported was taken


async def test_TC_B_31_operator_accepts_a_pending_station_and_triggers_its_boot(
    csms: CsmsServer, api: httpx.AsyncClient
) -> None:
    password, headers = held("op-rb31", "CS-RB31")
    assert (await set_status(api, "CS-RB31", "Pending", headers)).status_code == 200
    async with RawChargePoint(url_of(csms), "CS-RB31", subprotocols=V201, password=password) as cp:
        assert (await cp.boot201())["status"] == "Pending"
        triggered: list[dict] = []
        cp.responders["TriggerMessage"] = lambda p: triggered.append(p) or {"status": "Accepted"}
        assert (await set_status(api, "CS-RB31", "Accepted", headers)).status_code == 200
        await wait_for(lambda: bool(triggered), what="TriggerMessage(BootNotification)")
        assert triggered == [{"requestedMessage": "BootNotification"}]
        booted = await cp.ok(
            "BootNotification", {"chargingStation": {"vendorName": "V", "model": "M"}, "reason": "Triggered"}
        )
        assert booted["status"] == "Accepted"
        await cp.ok("StatusNotification", status_notification())
        await cp.ok("NotifyEvent", notify_event())


async def test_an_accepted_connected_station_is_not_asked_to_boot(
    csms: CsmsServer, api: httpx.AsyncClient
) -> None:
    """F06.FR.17: an accepted station refuses TriggerMessage(BootNotification); Pending waits for its boot."""
    password, headers = held("op-rbacc", "CS-RBACC")
    async with RawChargePoint(url_of(csms), "CS-RBACC", subprotocols=V201, password=password) as cp:
        assert (await cp.boot201())["status"] == "Accepted"
        triggered: list[dict] = []
        cp.responders["TriggerMessage"] = lambda p: triggered.append(p) or {"status": "Rejected"}
        assert (await set_status(api, "CS-RBACC", "Pending", headers)).status_code == 200
        await cp.ok("StatusNotification", status_notification())  # still accepted until it boots
        assert triggered == []


async def test_registration_route_checks_field_role_and_tenant(
    csms: CsmsServer, api: httpx.AsyncClient
) -> None:
    _, headers = held("op-rbx", "CS-RBX")
    bad = await set_status(api, "CS-RBX", "Maybe", headers)
    assert bad.status_code == 422 and "registration_status" in bad.text
    other = operator_key(add_tenant("op-rby"), "ops@op-rby.test")
    assert (await set_status(api, "CS-RBX", "Pending", other)).status_code == 404
    with session_scope() as s:
        tenant = charger_row("CS-RBX").tenant_id
        user = User(email="driver@op-rbx.test", role=Role.DRIVER, tenant_id=tenant)
        s.add(user)
        s.flush()
        from pipelet_app.auth.api_keys import create_api_key

        driver = {"Authorization": f"Bearer {create_api_key(s, user)[1]}"}
    assert (await set_status(api, "CS-RBX", "Pending", driver)).status_code == 403
    assert charger_row("CS-RBX").registration_status == "Accepted"  # nothing changed by the refusals
    assert (await set_status(api, "CS-RBX", "Rejected", headers)).json()["registration_status"] == "Rejected"
    assert (await set_status(api, "CS-RBX", "Rejected", headers)).status_code == 200  # idempotent


async def test_TC_B_02_held_back_before_it_connects(csms: CsmsServer, api: httpx.AsyncClient) -> None:
    """The OCTT's order: the operator sets Pending while the station is away, it connects and boots
    (Pending), the operator sets Accepted: the socket stays and the next boot is Accepted."""
    password, headers = held("op-rb02b", "CS-RB02B")
    async with RawChargePoint(url_of(csms), "CS-RB02B", subprotocols=V201, password=password) as cp:
        assert (await cp.boot201())["status"] == "Accepted"
    assert (await set_status(api, "CS-RB02B", "Pending", headers)).status_code == 200
    async with RawChargePoint(url_of(csms), "CS-RB02B", subprotocols=V201, password=password) as cp:
        assert (await cp.boot201())["status"] == "Pending"
        cp.responders["TriggerMessage"] = lambda p: {"status": "Accepted"}
        assert (await set_status(api, "CS-RB02B", "Accepted", headers)).status_code == 200
        await asyncio.sleep(0.3)
        assert cp.ws is not None and cp.ws.close_code is None
        assert (await cp.boot201())["status"] == "Accepted"
