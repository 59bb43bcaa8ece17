"""Start and Stop from the charger page: payloads built from the picker's choices, checked on the server
(role, tenant, connector, token, running session), and each running session's power."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from pipelet_app.auth import Forbidden, InvalidInput, NotFound
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargingSession, MeterValue, SessionSource
from pipelet_app.operations import chargers as operations
from pipelet_app.portals.operator.charger_data import charger_view
from tests.integration.api.charger_facts import principal

CP = "SON-CP-001"


def _running_session(db) -> str:
    charger = db.exec(select(Charger).where(Charger.charge_point_id == CP)).one()
    start = utcnow() - timedelta(minutes=10)
    session = ChargingSession(
        transaction_id=f"ocpp16:{CP}:77",
        station_id=CP,
        source=SessionSource.OCPP_WALLBOX,
        charger_id=charger.id,
        connector_id=2,
        id_tag="ACME0001",
        start_utc=start,
        energy_wh=1_233,
    )
    db.add(session)
    db.flush()
    for minutes, wh in ((0, 1_000_000), (5, 1_000_617), (10, 1_001_233)):
        db.add(
            MeterValue(
                charger_id=charger.id,
                connector_id=2,
                session_id=session.id,
                transaction_id=session.transaction_id,
                timestamp=start + timedelta(minutes=minutes),
                value=wh,
            )
        )
    return session.transaction_id


def test_start_takes_the_tenants_token_and_a_real_connector(demo: dict) -> None:
    operator = principal("operator@sonnenstrom.demo")
    with session_scope() as db:
        tokens = operations.id_tokens(db, operator, CP)
        assert "ACME0001" in tokens
        assert operations.start_payload(db, operator, CP, "1", "acme0001") == {
            "connectorId": 1,
            "idTag": "ACME0001",
        }
        with pytest.raises(InvalidInput, match=r"^connector: "):
            operations.start_payload(db, operator, CP, "9", "ACME0001")
        with pytest.raises(InvalidInput, match=r"^connector: "):
            operations.start_payload(db, operator, CP, "1; drop", "ACME0001")
        with pytest.raises(InvalidInput, match=r"^id_tag: "):
            operations.start_payload(db, operator, CP, "1", "NOT-A-TOKEN")


def test_the_token_picker_holds_only_the_chargers_tenants_tokens(demo: dict) -> None:
    with session_scope() as db:
        son = set(operations.id_tokens(db, principal("operator@sonnenstrom.demo"), CP))
        nw = set(operations.id_tokens(db, principal("operator@northwind.demo"), "NW-CP-001"))
    assert son and nw and not son & nw


@pytest.mark.parametrize(
    ("email", "error"),
    [("operator@northwind.demo", NotFound), ("fleet@acme.demo", Forbidden), ("driver@acme.demo", Forbidden)],
)
def test_nobody_else_builds_commands_for_the_charger(demo: dict, email: str, error: type[Exception]) -> None:
    with session_scope() as db:
        tx = _running_session(db)
    with session_scope() as db:
        who = principal(email)
        for call in (
            lambda: operations.id_tokens(db, who, CP),
            lambda: operations.start_payload(db, who, CP, "1", "ACME0001"),
            lambda: operations.stop_payload(db, who, CP, tx),
            lambda: operations.running_power_w(db, who, CP),
        ):
            with pytest.raises(error):
                call()


def test_stop_only_a_session_running_here_and_the_page_puts_it_next_to_its_connector(demo: dict) -> None:
    operator = principal("operator@sonnenstrom.demo")
    with session_scope() as db:
        tx = _running_session(db)
    with session_scope() as db:
        assert operations.stop_payload(db, operator, CP, tx) == {"transactionId": tx}
        with pytest.raises(InvalidInput, match=r"^transaction: "):
            operations.stop_payload(db, operator, "SON-CP-002", tx)
        view = charger_view(db, operator, CP)
    by_connector = {c["id"]: c["running_tx"] for c in view["connectors"]}
    assert by_connector == {"1": "", "2": tx}
    row = next(s for s in view["sessions"] if s["tx"] == tx)
    assert (row["running"], row["power"]) == ("1", "7.4 kW")  # 616 Wh in the last 5 minutes
    assert "ACME0001" in view["tokens"]
    with session_scope() as db:
        session = db.exec(select(ChargingSession).where(ChargingSession.transaction_id == tx)).one()
        session.end_utc = utcnow()
        db.add(session)
    with session_scope() as db, pytest.raises(InvalidInput, match=r"^transaction: "):
        operations.stop_payload(db, operator, CP, tx)
