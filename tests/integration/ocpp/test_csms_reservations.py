"""Reservations stored through their life (TC_046..TC_053 and 2.0.1 H01-H04) over a real socket, on
SQLite and PostgreSQL: ReserveNow answers, CancelReservation, a start on the reservation, expiry read
as Expired, ids allocated per charger, and 2.0.1 ReservationStatusUpdate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from csms_helpers import add_charger, add_tenant, add_token, charger_row, url_of
from rawcp import RawChargePoint, utc_now
from sqlmodel import col, select

from pipelet_app.db import session_scope
from pipelet_app.db.models import ChargingSession, DeviceVariable, Reservation
from pipelet_app.ocpp import reservations
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.server import CsmsServer


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def in_an_hour() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)


def rows() -> dict[int, tuple[str, int, str, int | None]]:
    """reservationId -> (stored status, connector, id tag, session id)."""
    with session_scope() as s:
        found = s.exec(select(Reservation).order_by(col(Reservation.reservation_id))).all()
    return {r.reservation_id: (r.status, r.connector_id, r.id_tag, r.session_id) for r in found}


def read_statuses(charge_point_id: str) -> dict[int, str]:
    """What an operator reads: the status with expiry applied."""
    charger_id = charger_row(charge_point_id).id
    assert charger_id is not None
    with session_scope() as s:
        return {r["reservation_id"]: r["status"] for r in reservations.list_for(s, charger_id)}


def answering(cp: RawChargePoint, action: str, status: str) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []

    def respond(payload: dict[str, Any]) -> dict[str, Any]:
        received.append(payload)
        return {"status": status}

    cp.responders[action] = respond
    return received


@pytest.mark.dates
async def test_reservation_life_cycle_16(csms_any: CsmsServer) -> None:
    tenant = add_tenant("op")
    add_charger("CP-R", tenant_id=tenant)
    add_token(tenant, "GOOD")
    async with RawChargePoint(url_of(csms_any), "CP-R") as cp:
        await cp.boot16()
        reserve = {"connectorId": 1, "expiryDate": iso(in_an_hour()), "idTag": "GOOD"}

        # TC_046: accepted; no reservationId given, so the CSMS allocates the charger's first free one.
        sent = answering(cp, "ReserveNow", "Accepted")
        assert await send_command("CP-R", "reserve-now", reserve) == {"status": "Accepted"}
        assert sent[-1]["reservationId"] == 1
        assert rows() == {1: ("Active", 1, "GOOD", None)}

        # TC_048 / TC_050 / TC_053-style refusals are stored as answered, with the next ids.
        for refusal in ("Occupied", "Faulted", "Unavailable", "Rejected"):
            answering(cp, "ReserveNow", refusal)
            await send_command("CP-R", "reserve-now", {**reserve, "connectorId": 2})
        assert {k: v[0] for k, v in rows().items()} == {
            1: "Active",
            2: "Occupied",
            3: "Faulted",
            4: "Unavailable",
            5: "Rejected",
        }

        # TC_051: cancelled. TC_052: a refused cancel changes nothing.
        answering(cp, "CancelReservation", "Rejected")
        await send_command("CP-R", "cancel-reservation", {"reservationId": 1})
        assert rows()[1][0] == "Active"
        answering(cp, "CancelReservation", "Accepted")
        await send_command("CP-R", "cancel-reservation", {"reservationId": 1})
        assert rows()[1][0] == "Cancelled"

        # TC_049: a transaction started on the reservation uses it and is linked to it.
        answering(cp, "ReserveNow", "Accepted")
        await send_command("CP-R", "reserve-now", {**reserve, "reservationId": 11})
        start = await cp.ok(
            "StartTransaction",
            {"connectorId": 1, "idTag": "GOOD", "meterStart": 0, "timestamp": utc_now(), "reservationId": 11},
        )
        assert rows()[11] == ("Used", 1, "GOOD", start["transactionId"])
        with session_scope() as s:
            assert s.get(ChargingSession, start["transactionId"]) is not None
        # A cancel accepted afterwards does not turn a used reservation into a cancelled one.
        await send_command("CP-R", "cancel-reservation", {"reservationId": 11})
        assert rows()[11][0] == "Used"

        # An accepted reservation past its expiry reads as Expired (stored Active: computed on read).
        answering(cp, "ReserveNow", "Accepted")
        past = {**reserve, "expiryDate": iso(datetime.now(UTC) - timedelta(minutes=1)), "reservationId": 20}
        await send_command("CP-R", "reserve-now", past)
        assert rows()[20][0] == "Active"
        assert read_statuses("CP-R") == {
            1: "Cancelled",
            2: "Occupied",
            3: "Faulted",
            4: "Unavailable",
            5: "Rejected",
            11: "Used",
            20: "Expired",
        }

        # Reserving an id again replaces that reservation (1.6 ReserveNow); the next free id is max + 1.
        await send_command("CP-R", "reserve-now", {**reserve, "reservationId": 1, "idTag": "OTHER"})
        assert rows()[1] == ("Active", 1, "OTHER", None)
        sent = answering(cp, "ReserveNow", "Accepted")
        await send_command("CP-R", "reserve-now", reserve)
        assert sent[-1]["reservationId"] == 21

    # Ids are per charger: another charger starts again at 1.
    add_charger("CP-R2", tenant_id=tenant)
    async with RawChargePoint(url_of(csms_any), "CP-R2") as cp2:
        await cp2.boot16()
        sent = answering(cp2, "ReserveNow", "Accepted")
        await send_command("CP-R2", "reserve-now", reserve)
        assert sent[-1]["reservationId"] == 1


@pytest.mark.dates
async def test_reservation_life_cycle_201(csms_any: CsmsServer) -> None:
    tenant = add_tenant("op201")
    add_charger("CS-R", tenant_id=tenant)
    add_token(tenant, "RFID-1")
    token = {"idToken": "RFID-1", "type": "ISO14443"}
    async with RawChargePoint(url_of(csms_any), "CS-R", subprotocols=("ocpp2.0.1",)) as cp:
        await cp.boot201()
        sent = answering(cp, "ReserveNow", "Accepted")
        for evse in (1, 2, 1):
            await send_command(
                "CS-R", "reserve-now", {"expiryDateTime": iso(in_an_hour()), "idToken": token, "evseId": evse}
            )
        assert [p["id"] for p in sent] == [1, 2, 3]
        assert rows() == {
            1: ("Active", 1, "RFID-1", None),
            2: ("Active", 2, "RFID-1", None),
            3: ("Active", 1, "RFID-1", None),
        }
        await cp.ok("ReservationStatusUpdate", {"reservationId": 1, "reservationUpdateStatus": "Expired"})
        await cp.ok("ReservationStatusUpdate", {"reservationId": 2, "reservationUpdateStatus": "Removed"})
        await cp.ok(
            "TransactionEvent",
            {
                "eventType": "Started",
                "timestamp": utc_now(),
                "triggerReason": "Authorized",
                "seqNo": 0,
                "transactionInfo": {"transactionId": "tx-r"},
                "idToken": token,
                "evse": {"id": 1, "connectorId": 1},
                "reservationId": 3,
            },
        )
        # A status update for a reservation that is already final changes nothing.
        await cp.ok("ReservationStatusUpdate", {"reservationId": 3, "reservationUpdateStatus": "Removed"})
        # A reservation the CSMS never made (no row) is still remembered as the charger's last word.
        await cp.ok("ReservationStatusUpdate", {"reservationId": 99, "reservationUpdateStatus": "Expired"})
    with session_scope() as s:
        session_id = s.exec(select(ChargingSession.id)).one()
        variable = s.exec(
            select(DeviceVariable.value).where(
                DeviceVariable.component == "CSMS.Reservation", DeviceVariable.variable_instance == "99"
            )
        ).one()
    assert rows() == {
        1: ("Expired", 1, "RFID-1", None),
        2: ("Removed", 2, "RFID-1", None),
        3: ("Used", 1, "RFID-1", session_id),
    }
    assert variable == "Expired"
