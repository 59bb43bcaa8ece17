"""OCPP 2.0.1 CSMS test cases of block E by their OCTT ids, over raw sockets (the other E cases are in
test_csms_v201.py and test_csms_seqno.py under their behaviour's name)."""

from __future__ import annotations

import pytest
from csms_helpers import add_charger, add_tenant, add_token, url_of
from rawcp import RawChargePoint, utc_now
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import TransactionSeqNos
from pipelet_app.ocpp.server import CsmsServer

V201 = ("ocpp2.0.1",)
CP = "CS-E"


@pytest.fixture
def station() -> str:
    tenant = add_tenant("op-e")
    add_charger(CP, tenant_id=tenant)
    add_token(tenant, "TAG-E")
    return CP


def event(kind: str, seq_no: int, tx: str, **extra: object) -> dict:
    return {
        "eventType": kind,
        "timestamp": utc_now(),
        "triggerReason": "Authorized" if kind == "Started" else "EVCommunicationLost",
        "seqNo": seq_no,
        "transactionInfo": {"transactionId": tx},
        **extra,
    }


def missing() -> list[int]:
    with session_scope() as db:
        return [row.missing for row in db.exec(select(TransactionSeqNos)).all()]


async def test_TC_E_31_ended_with_messages_missing_asks_get_transaction_status(
    csms: CsmsServer, station: str
) -> None:
    async with RawChargePoint(url_of(csms), CP, subprotocols=V201) as cp:
        await cp.boot201()
        token = {"idToken": {"idToken": "TAG-E", "type": "ISO14443"}, "evse": {"id": 1, "connectorId": 1}}
        await cp.ok("TransactionEvent", event("Started", 0, "tx-e31", **token))
        # Ended, offline, two seqNos skipped: the CSMS asks whether the station still queues them.
        await cp.ok("TransactionEvent", event("Ended", 3, "tx-e31", offline=True))
        frame = await cp.next_server_call()
        assert frame[2:] == ["GetTransactionStatus", {"transactionId": "tx-e31"}]
        await cp.answer(frame, {"ongoingIndicator": False, "messagesInQueue": True})
        assert missing() == [2]
        for seq_no in (1, 2):  # the queue arrives and fills the gap
            await cp.ok("TransactionEvent", event("Updated", seq_no, "tx-e31", offline=True))
        assert missing() == [0]
        # A transaction that ends with nothing missing is not asked about.
        await cp.ok("TransactionEvent", event("Started", 0, "tx-e31b", **token))
        await cp.ok("TransactionEvent", event("Ended", 1, "tx-e31b"))
        with pytest.raises(TimeoutError):
            await cp.next_server_call(timeout=1.5)
