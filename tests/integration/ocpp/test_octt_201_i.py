"""TC_I_01 (I02, running cost by CostUpdated) over a raw OCPP 2.0.1 socket: after each periodic meter value
of a priced transaction the station gets a CostUpdated for it within the OCTT's 30 s, at most once per
CSMS_COST_UPDATE_INTERVAL_S; an Updated inside the interval is answered when it ends (trailing send) with
the cost the latest meter value gives, and nothing follows the end of the transaction."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from csms_helpers import add_token, url_of
from rawcp import RawChargePoint
from sqlmodel import select
from test_csms_payments import iso, setup_site

from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.settings import Settings, get_settings
from tests.waiting import wait_for

INTERVAL_S = 2.0
OCTT_WAIT_S = 30.0  # the OCTT's CSMS_ACTION_TIMEOUT for the CostUpdated


@pytest.fixture
def short_interval(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CSMS_COST_UPDATE_INTERVAL_S", str(INTERVAL_S))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_default_interval_fits_the_octt_wait() -> None:
    assert Settings().csms_cost_update_interval_s <= OCTT_WAIT_S / 2


def event(kind: str, seq: int, trigger: str, wh: int | None = None, **extra: object) -> dict:
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=10 - seq)  # one second apart
    frame: dict = {
        "eventType": kind,
        "timestamp": iso(now),
        "triggerReason": trigger,
        "seqNo": seq,
        "transactionInfo": {"transactionId": "tx-i01", "chargingState": "Charging"},
        **extra,
    }
    if wh is not None:  # the OCTT's sample: no measurand (Energy.Active.Import.Register), Sample.Periodic
        frame["meterValue"] = [
            {"timestamp": iso(now), "sampledValue": [{"value": wh, "context": "Sample.Periodic"}]}
        ]
    return frame


async def test_TC_I_01_cost_updated_after_each_periodic_meter_value(
    csms: CsmsServer, short_interval: None
) -> None:
    setup_site()
    with session_scope() as db:
        add_token(db.exec(select(Charger.tenant_id)).one(), "TAG-I01")
    costs: list[tuple[float, dict]] = []
    async with RawChargePoint(url_of(csms), "CP-PAY", subprotocols=("ocpp2.0.1",)) as cp:
        cp.responders["CostUpdated"] = lambda p: costs.append((time.monotonic(), p)) or {}
        cp.responders["SetDisplayMessage"] = lambda p: {"status": "Rejected"}
        assert (await cp.boot201())["status"] == "Accepted"
        token = {"idToken": "TAG-I01", "type": "ISO14443"}
        await cp.ok(
            "TransactionEvent",
            event("Started", 0, "Authorized", 0, idToken=token, evse={"id": 1, "connectorId": 1}),
        )
        first = await cp.ok("TransactionEvent", event("Updated", 1, "MeterValuePeriodic", 1000))
        assert "totalCost" not in first  # so the CSMS owes a CostUpdated (I02.FR.01)
        await wait_for(lambda: len(costs) == 1, what="CostUpdated after the first meter value")
        assert costs[0][1] == {"totalCost": 0.9, "transactionId": "tx-i01"}  # 0.50 + 1 kWh x 0.40
        sent_at = time.monotonic()
        await asyncio.sleep(0.3)
        await cp.ok("TransactionEvent", event("Updated", 2, "MeterValuePeriodic", 2000))
        await cp.ok("TransactionEvent", event("Updated", 3, "MeterValuePeriodic", 2500))
        await asyncio.sleep(0.5)
        assert len(costs) == 1  # not one per meter value inside the interval
        await wait_for(lambda: len(costs) == 2, what="the trailing CostUpdated", timeout=INTERVAL_S + 5)
        assert costs[1][1] == {"totalCost": 1.5, "transactionId": "tx-i01"}  # the latest value: 2.5 kWh
        assert INTERVAL_S - 0.2 <= costs[1][0] - costs[0][0] <= INTERVAL_S + 3
        assert costs[1][0] - sent_at < OCTT_WAIT_S
        await cp.ok("TransactionEvent", event("Updated", 4, "MeterValuePeriodic", 3000))  # inside again
        ended = await cp.ok("TransactionEvent", event("Ended", 5, "EVCommunicationLost", 3000))
        assert ended["totalCost"] == 1.7
        await asyncio.sleep(INTERVAL_S + 1)
        assert len(costs) == 2  # the transaction ended: its pending update is not sent
