"""OCPP 2.0.1 CSMS test cases of block K, ISO 15118 smart charging (use cases K15-K17), by their OCTT ids,
over raw sockets: the car's needs become a TxProfile offer, the car's schedule is checked against the
offer and stored, and both sides renegotiate. The operator's profile goes through the command bus."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from csms_helpers import add_charger, add_tenant, add_token, url_of
from rawcp import RawChargePoint, utc_now
from sqlmodel import select

from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, Connector, EvChargingSchedule, Site
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.ocpp.timefmt import format_utc
from pipelet_app.ocpp.v201 import ISO15118_OFFER_PAUSE_S

V201 = ("ocpp2.0.1",)
CP = "CS-K"
TOKEN = "TAG-K"
TX = "tx-k-1"


@pytest.fixture
def station() -> str:
    tenant = add_tenant("op-k")
    add_charger(CP, tenant_id=tenant)
    add_token(tenant, TOKEN)
    return CP


def needs(**ac: Any) -> dict[str, Any]:
    charging: dict[str, Any] = {"requestedEnergyTransfer": ac.pop("transfer", "AC_three_phase")}
    departure = ac.pop("departure", None)
    if departure is not None:
        charging["departureTime"] = departure
    if ac:
        charging["acChargingParameters"] = ac
    return {"evseId": 1, "maxScheduleTuples": 10, "chargingNeeds": charging}


AC_NEEDS = {"energyAmount": 50000, "evMinCurrent": 6, "evMaxCurrent": 32, "evMaxVoltage": 230}


async def in_transaction(csms: CsmsServer) -> RawChargePoint:
    """Authorized and EVConnectedPreSession: the station's transaction runs on EVSE 1."""
    cp = RawChargePoint(url_of(csms), CP, subprotocols=V201)
    await cp.connect()
    assert (await cp.boot201())["status"] == "Accepted"
    await cp.ok(
        "StatusNotification",
        {"timestamp": utc_now(), "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1},
    )
    started = {
        "eventType": "Started",
        "timestamp": utc_now(),
        "triggerReason": "CablePluggedIn",
        "seqNo": 0,
        "transactionInfo": {"transactionId": TX, "chargingState": "EVConnected"},
        "evse": {"id": 1, "connectorId": 1},
    }
    await cp.ok("TransactionEvent", started)
    authorized = {
        "eventType": "Updated",
        "timestamp": utc_now(),
        "triggerReason": "Authorized",
        "seqNo": 1,
        "transactionInfo": {"transactionId": TX},
        "idToken": {"idToken": TOKEN, "type": "ISO14443"},
    }
    answer = await cp.ok("TransactionEvent", authorized)
    assert answer["idTokenInfo"]["status"] == "Accepted"
    return cp


async def offered(cp: RawChargePoint, status: str = "Accepted") -> dict[str, Any]:
    """The next SetChargingProfile the CSMS sends, answered `status`; checked as a TxProfile offer."""
    frame = await cp.next_server_call(timeout=10)
    assert frame[2] == "SetChargingProfile", frame
    await cp.answer(frame, {"status": status})
    request = frame[3]
    assert request["evseId"] == 1
    profile = request["chargingProfile"]
    assert profile["chargingProfilePurpose"] == "TxProfile"
    assert profile["transactionId"] == TX
    return profile


async def notify_schedule(cp: RawChargePoint, schedule: dict[str, Any]) -> dict[str, Any]:
    return await cp.ok(
        "NotifyEVChargingSchedule", {"timeBase": utc_now(), "evseId": 1, "chargingSchedule": schedule}
    )


def stored() -> list[tuple[str, list[float]]]:
    with session_scope() as db:
        rows = db.exec(select(EvChargingSchedule).order_by(EvChargingSchedule.id)).all()  # type: ignore[arg-type]
        return [
            (r.status, [p["limit"] for p in json.loads(r.schedule)["chargingSchedulePeriod"]]) for r in rows
        ]


async def test_TC_K_53_load_leveling_offer_and_the_cars_schedule(csms: CsmsServer, station: str) -> None:
    with session_scope() as db:  # an 11 kW EVSE: 16 A on three phases
        charger = db.exec(select(Charger).where(Charger.charge_point_id == CP)).one()
        db.add(Connector(charger_id=charger.id, connector_id=1, max_power_w=11040))
    cp = await in_transaction(csms)
    try:
        departure = format_utc(utcnow() + timedelta(hours=8))
        answer = await cp.ok("NotifyEVChargingNeeds", needs(departure=departure, **AC_NEEDS))
        assert answer == {"status": "Accepted"}
        profile = await offered(cp)
        schedule = profile["chargingSchedule"][0]
        assert schedule["chargingRateUnit"] == "A"
        periods = schedule["chargingSchedulePeriod"]
        # 50 kWh (+10 %) over 8 h on three phases at 230 V is 10.0 A; the EVSE allows 16 A after that.
        assert periods[0]["startPeriod"] == 0
        assert 9.9 <= periods[0]["limit"] <= 10.1, periods
        assert periods[1]["limit"] == 16.0 and 8 * 3600 - 5 <= periods[1]["startPeriod"] <= 8 * 3600
        assert all(p["numberPhases"] == 3 for p in periods)
        assert await notify_schedule(cp, schedule) == {"status": "Accepted"}
        await cp.ok(
            "TransactionEvent",
            {
                "eventType": "Updated",
                "timestamp": utc_now(),
                "triggerReason": "ChargingStateChanged",
                "seqNo": 2,
                "transactionInfo": {"transactionId": TX, "chargingState": "Charging"},
            },
        )
        with pytest.raises(TimeoutError):  # no renegotiation without cause
            await cp.next_server_call(timeout=2)
    finally:
        await cp.close()
    assert stored() == [("Accepted", [p["limit"] for p in periods])]


async def test_TC_K_53_the_cars_schedule_may_cross_the_answer_to_the_offer(
    csms: CsmsServer, station: str
) -> None:
    """The station sends the car's schedule before its answer to the offer reaches the CSMS (the two
    messages cross; the OCTT's station does this when its test wakes up first): judged against the
    offer in flight, accepted, and no renegotiation follows."""
    cp = await in_transaction(csms)
    try:
        assert await cp.ok("NotifyEVChargingNeeds", needs(**AC_NEEDS)) == {"status": "Accepted"}
        frame = await cp.next_server_call(timeout=10)
        assert frame[2] == "SetChargingProfile", frame
        schedule = frame[3]["chargingProfile"]["chargingSchedule"][0]
        assert await notify_schedule(cp, schedule) == {"status": "Accepted"}
        await cp.answer(frame, {"status": "Accepted"})
        with pytest.raises(TimeoutError):
            await cp.next_server_call(timeout=1.5)
        assert [status for status, _ in stored()] == ["Accepted"]
    finally:
        await cp.close()


async def test_TC_K_55_a_schedule_beyond_the_offer_is_rejected_and_renegotiated(
    csms: CsmsServer, station: str
) -> None:
    cp = await in_transaction(csms)
    try:
        assert await cp.ok("NotifyEVChargingNeeds", needs()) == {"status": "Accepted"}
        first = (await offered(cp))["chargingSchedule"][0]
        assert first["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 32.0, "numberPhases": 3}]
        exceeding = {
            **first,
            "chargingSchedulePeriod": [
                {**p, "limit": p["limit"] * 2} for p in first["chargingSchedulePeriod"]
            ],
        }
        answer = await notify_schedule(cp, exceeding)
        assert answer["status"] == "Rejected"
        assert answer["statusInfo"]["reasonCode"] == "OutOfLimits"
        second = (await offered(cp))["chargingSchedule"][0]  # K15.FR.13: the CSMS offers again
        assert await notify_schedule(cp, second) == {"status": "Accepted"}
    finally:
        await cp.close()
    assert stored() == [("Rejected", [64.0]), ("Accepted", [32.0])]


async def test_TC_K_57_renegotiation_initiated_by_the_ev(csms: CsmsServer, station: str) -> None:
    cp = await in_transaction(csms)
    try:
        assert await cp.ok("NotifyEVChargingNeeds", needs(**AC_NEEDS)) == {"status": "Accepted"}
        first = (await offered(cp))["chargingSchedule"][0]
        assert await notify_schedule(cp, first) == {"status": "Accepted"}
        # The car now wants at most 20 A: a new offer follows, and a schedule within it is accepted.
        # The offer comes a moment after the answer, not in the same instant (the OCTT's test clears its
        # "profile received" flag once the answer is in: a profile that came first would be lost).
        assert await cp.ok("NotifyEVChargingNeeds", needs(**{**AC_NEEDS, "evMaxCurrent": 20})) == {
            "status": "Accepted"
        }
        answered = time.monotonic()
        with pytest.raises(TimeoutError):
            await cp.next_server_call(timeout=ISO15118_OFFER_PAUSE_S * 0.6)
        second = (await offered(cp))["chargingSchedule"][0]
        assert time.monotonic() - answered >= ISO15118_OFFER_PAUSE_S * 0.9
        assert second["chargingSchedulePeriod"][0]["limit"] == 20.0
        assert await notify_schedule(cp, second) == {"status": "Accepted"}
        # ...and the first offer's 32 A no longer holds.
        assert (await notify_schedule(cp, first))["status"] == "Rejected"
        await offered(cp)
    finally:
        await cp.close()


def operator_profile(limit: float) -> dict[str, Any]:
    return {
        "evseId": 1,
        "chargingProfile": {
            "id": 77,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute",
            "transactionId": TX,
            "chargingSchedule": [
                {
                    "id": 1,
                    "startSchedule": utc_now(),
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
                }
            ],
        },
    }


async def test_TC_K_58_renegotiation_initiated_by_the_csms(csms: CsmsServer, station: str) -> None:
    cp = await in_transaction(csms)
    try:
        assert await cp.ok("NotifyEVChargingNeeds", needs(**AC_NEEDS)) == {"status": "Accepted"}
        await notify_schedule(cp, (await offered(cp))["chargingSchedule"][0])
        cp.responders["SetChargingProfile"] = lambda payload: {"status": "Accepted"}
        assert await send_command(CP, "set-charging-profile", operator_profile(12)) == {"status": "Accepted"}
        schedule = operator_profile(12)["chargingProfile"]["chargingSchedule"][0]
        assert await notify_schedule(cp, schedule) == {"status": "Accepted"}
        over = {**schedule, "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 13}]}
        assert (await notify_schedule(cp, over))["status"] == "Rejected"  # the 12 A cap holds now
    finally:
        await cp.close()


async def test_TC_K_59_csms_renegotiation_then_the_station_resends_needs(
    csms: CsmsServer, station: str
) -> None:
    cp = await in_transaction(csms)
    try:
        assert await cp.ok("NotifyEVChargingNeeds", needs(**AC_NEEDS)) == {"status": "Accepted"}
        await notify_schedule(cp, (await offered(cp))["chargingSchedule"][0])
        sent = send_command(CP, "set-charging-profile", operator_profile(12))
        task = asyncio.ensure_future(sent)
        frame = await cp.next_server_call()
        await cp.answer(frame, {"status": "Accepted"})
        assert (await task)["status"] == "Accepted"
        # K16.FR.12: the station sends the needs again; the CSMS answers with a profile of its own.
        assert await cp.ok("NotifyEVChargingNeeds", needs(**AC_NEEDS)) == {"status": "Accepted"}
        again = (await offered(cp))["chargingSchedule"][0]
        assert await notify_schedule(cp, again) == {"status": "Accepted"}
    finally:
        await cp.close()


async def test_no_schedule_possible_is_rejected_and_nothing_is_sent(csms: CsmsServer, station: str) -> None:
    cp = RawChargePoint(url_of(csms), CP, subprotocols=V201)
    await cp.connect()
    try:
        await cp.boot201()
        # No transaction: a TxProfile has nothing to apply to.
        assert await cp.ok("NotifyEVChargingNeeds", needs(**AC_NEEDS)) == {"status": "Rejected"}
    finally:
        await cp.close()
    with session_scope() as db:  # a site whose grid connection allows 4 A, below the car's 6 A minimum
        site = Site(tenant_id=db.exec(select(Charger)).one().tenant_id, name="tiny", grid_limit_a=4)
        db.add(site)
        db.flush()
        db.exec(select(Charger)).one().site_id = site.id
    cp = await in_transaction(csms)
    try:
        assert await cp.ok("NotifyEVChargingNeeds", needs(**AC_NEEDS)) == {"status": "Rejected"}
        with pytest.raises(TimeoutError):
            await cp.next_server_call(timeout=1.5)
        # A car schedule with no offer to compare with is refused (and kept).
        schedule = {
            "id": 1,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}],
        }
        assert (await notify_schedule(cp, schedule))["status"] == "Rejected"
    finally:
        await cp.close()
    assert stored() == [("Rejected", [6])]
