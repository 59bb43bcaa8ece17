"""2.0.1 TransactionEvent seqNo over a real socket, on SQLite and PostgreSQL: a jump is recorded and
logged, a late message is still applied and fills its gap without lowering the last seqNo."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from csms_helpers import add_charger, add_tenant, add_token, url_of
from rawcp import RawChargePoint
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import ChargingSession, MeterValue, TransactionSeqNos
from pipelet_app.ocpp.server import CsmsServer

TOKEN = {"idToken": "RFID-1", "type": "ISO14443"}


T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


def event(kind: str, seq: int, trigger: str, wh: float, context: str, **extra: Any) -> dict[str, Any]:
    """Event `seq` happened `seq` minutes after the start: a late or retried one keeps its timestamp."""
    sample = {"value": wh, "context": context, "measurand": "Energy.Active.Import.Register"}
    at = (T0 + timedelta(minutes=seq)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "eventType": kind,
        "timestamp": at,
        "triggerReason": trigger,
        "seqNo": seq,
        "transactionInfo": {"transactionId": "tx-seq", **extra.pop("info", {})},
        "meterValue": [{"timestamp": at, "sampledValue": [sample]}],
        **extra,
    }


def seq_row() -> tuple[int, str, int]:
    with session_scope() as s:
        row = s.exec(select(TransactionSeqNos)).one()
        return row.last_seq_no, row.seen, row.missing


async def test_seq_no_gap_is_recorded_and_a_late_message_fills_it(
    csms_any: CsmsServer, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = add_tenant("op201")
    add_charger("CS-S", tenant_id=tenant)
    add_token(tenant, "RFID-1")
    caplog.set_level(logging.INFO, logger="pipelet.csms.transactions")
    async with RawChargePoint(url_of(csms_any), "CS-S", subprotocols=("ocpp2.0.1",)) as cp:
        await cp.boot201()
        await cp.ok(
            "TransactionEvent",
            event("Started", 0, "Authorized", 1000, "Transaction.Begin", idToken=TOKEN, evse={"id": 1}),
        )
        assert seq_row() == (0, "0", 0)
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

        # seqNo 1 is lost (or still queued on the station): the jump is recorded and warned about.
        await cp.ok("TransactionEvent", event("Updated", 2, "MeterValuePeriodic", 3000, "Sample.Periodic"))
        assert seq_row() == (2, "0,2", 1)
        [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert "ocpp201:CS-S:tx-seq" in warning.getMessage() and "seqNo 2 after 0" in warning.getMessage()

        await cp.ok(
            "TransactionEvent",
            event(
                "Ended", 3, "EVDeparted", 4000, "Transaction.End", info={"stoppedReason": "EVDisconnected"}
            ),
        )
        assert seq_row() == (3, "0,2-3", 1)

        # The missing message arrives late: applied (its meter value is stored), fills the gap, and the
        # last seqNo stays 3.
        await cp.ok("TransactionEvent", event("Updated", 1, "MeterValuePeriodic", 2000, "Sample.Periodic"))
        assert seq_row() == (3, "0-3", 0)
        # A retransmission under a new message id is applied but stores and counts nothing twice.
        await cp.ok("TransactionEvent", event("Updated", 1, "MeterValuePeriodic", 2000, "Sample.Periodic"))
        assert seq_row() == (3, "0-3", 0)
    with session_scope() as s:
        session = s.exec(select(ChargingSession)).one()
        values = sorted(s.exec(select(MeterValue.value).where(MeterValue.session_id == session.id)).all())
    assert (session.end_utc is not None, session.reason, session.energy_wh) == (True, "EVDisconnected", 3000)
    assert values == [1000, 2000, 3000, 4000]
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
