"""Finite, bounded numbers: the import names the row and field of inf/nan/1e400/absurd kWh; a session that
got in anyway never breaks a month's reimbursement; a fleet manager voids it (audited); OCPP meter values
of 1e306 get a CallError and the socket lives on."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "ocpp"))

from csms_helpers import add_charger, add_tenant
from helpers import bearer, guarded_api
from rawcp import RawChargePoint, utc_now

from pipelet_app.api.ratelimit import limiter_for
from pipelet_app.db import session_scope
from pipelet_app.db.models import ChargingSession, Driver, SessionSource, VoidedSession
from pipelet_app.ocpp.server import CsmsServer

WHEN = (datetime.now(UTC) - timedelta(days=40)).replace(day=5, hour=9, minute=0, second=0, microsecond=0)
MONTH = WHEN.strftime("%Y-%m")
IMPORT = "/api/v1/fleet/imports/public-sessions"


@pytest.fixture
def client(demo: dict) -> Iterator[TestClient]:
    limiter_for.cache_clear()
    with TestClient(guarded_api(), raise_server_exceptions=False) as test_client:
        yield test_client


def post_csv(client: TestClient, key: dict, body: str) -> dict:
    response = client.post(IMPORT, content=body.encode(), headers={**key, "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    return response.json()


def test_import_refuses_non_finite_and_absurd_numbers_naming_row_and_field(client: TestClient) -> None:
    key = bearer("fleet@acme.demo")
    at = WHEN.isoformat()
    body = "driver_email,start_utc,energy_kwh,station_id,cost\n" + "".join(
        f"driver@acme.demo,{at},{kwh},ST-{i},{cost}\n"
        for i, (kwh, cost) in enumerate(
            [
                ("inf", ""),
                ("nan", ""),
                ("1e400", ""),
                ("99999999", ""),
                ("-1", ""),
                ("12", "1e400"),
                ("12", ""),
            ]
        )
    )
    answer = post_csv(client, key, body)
    assert answer["imported"] == 1
    assert answer["errors"] == [
        "line 2, energy_kwh: 'inf' is not a finite number",
        "line 3, energy_kwh: 'nan' is not a finite number",
        "line 4, energy_kwh: '1e400' is not a finite number",
        "line 5, energy_kwh: '99999999' is outside 0 to 1,000",
        "line 6, energy_kwh: '-1' is outside 0 to 1,000",
        "line 7, cost: '1e400' is not a finite number",
    ]


@pytest.mark.parametrize("energy_wh", [float("inf"), 1e306, 99_999_999_000.0])  # NaN: SQLite stores NULL
def test_a_bad_session_already_stored_never_fails_the_month(
    client: TestClient, energy_wh: float, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows from before the import checked (or from any writer): the draft leaves them out, no 500."""
    key = bearer("fleet@acme.demo")
    with session_scope() as db:
        driver = db.exec(select(Driver).where(Driver.email == "driver@acme.demo")).one()
        db.add(
            ChargingSession(
                transaction_id=f"public-legacy-{energy_wh}",
                station_id="X",
                source=SessionSource.PUBLIC,
                driver_id=driver.id,
                start_utc=WHEN,
                energy_wh=energy_wh,
            )
        )
    client.put("/api/v1/fleet/reimbursement/rates/public", json={"rate_per_kwh": "0.40"}, headers=key)
    drafts = client.post("/api/v1/fleet/reimbursement/statements", params={"month": MONTH}, headers=key)
    assert drafts.status_code == 200, drafts.text
    for statement in drafts.json():
        assert float(statement["total"]) < 1e6
    assert "1 session(s) with implausible energy left out" in caplog.text


def test_fleet_manager_voids_a_wrong_import_on_the_record(client: TestClient) -> None:
    acme, globex, driver = bearer("fleet@acme.demo"), bearer("fleet@globex.demo"), bearer("driver@acme.demo")
    row = f"driver_email,start_utc,energy_kwh,station_id\ndriver@acme.demo,{WHEN.isoformat()},950,TYPO\n"
    assert post_csv(client, acme, row)["imported"] == 1
    with session_scope() as db:
        wrong = db.exec(select(ChargingSession).where(ChargingSession.station_id == "TYPO")).one()
        ocpp = db.exec(
            select(ChargingSession).where(ChargingSession.source == SessionSource.OCPP_WALLBOX)
        ).first()
    url = f"/api/v1/fleet/sessions/{wrong.transaction_id}/void"
    reason = {"reason": "950 kWh is a typo for 9.5"}
    assert client.post(url, json=reason, headers=globex).status_code == 404  # another fleet's: not found
    assert client.post(url, json=reason, headers=driver).status_code == 403
    assert client.post(url, json={"reason": ""}, headers=acme).status_code == 422
    if ocpp is not None:
        metered = client.post(f"/api/v1/fleet/sessions/{ocpp.transaction_id}/void", json=reason, headers=acme)
        assert metered.status_code in (404, 422)  # a meter's session is corrected at its source
    voided = client.post(url, json=reason, headers=acme)
    assert voided.status_code == 200 and voided.json()["transaction_id"] == wrong.transaction_id
    assert client.post(url, json=reason, headers=acme).status_code == 404  # gone
    with session_scope() as db:
        assert db.exec(select(ChargingSession).where(ChargingSession.station_id == "TYPO")).first() is None
        record = db.exec(select(VoidedSession)).one()
    assert record.reason == reason["reason"] and record.session["energy_wh"] == 950_000
    assert record.voided_by and record.fleet_id and record.driver_id == wrong.driver_id
    again = post_csv(client, acme, row)  # the same file again does not bring it back
    assert again["imported"] == 0 and again["errors"] == [
        "line 2, row: this session was voided by a fleet manager"
    ]


def _meter(value: object, unit: str = "kWh") -> dict:
    sampled = {"value": value, "unit": unit, "measurand": "Energy.Active.Import.Register"}
    return {"timestamp": utc_now(), "sampledValue": [sampled]}


async def test_ocpp16_meter_value_of_1e306_kwh_is_a_call_error(csms: CsmsServer) -> None:
    add_charger("CP-BIG", tenant_id=add_tenant("op-big"))
    async with RawChargePoint(f"ws://127.0.0.1:{csms.port}", "CP-BIG") as cp:
        await cp.boot16()
        for value in ("1e306", "1e400", "-1e13"):
            frame = await cp.call("MeterValues", {"connectorId": 1, "meterValue": [_meter(value)]})
            assert frame[0] == 4 and frame[2] == "PropertyConstraintViolation", frame
            assert "meterValue[0].sampledValue[0].value" in frame[3]
        await cp.ok("MeterValues", {"connectorId": 1, "meterValue": [_meter("12.5")]})
        await cp.ok("Heartbeat", {})  # the socket lives on


async def test_ocpp201_meter_value_of_1e306_is_a_call_error(csms: CsmsServer) -> None:
    add_charger("CS-BIG", tenant_id=add_tenant("op-big2"))
    async with RawChargePoint(f"ws://127.0.0.1:{csms.port}", "CS-BIG", subprotocols=("ocpp2.0.1",)) as cp:
        await cp.boot201()
        meter = {"timestamp": utc_now(), "sampledValue": [{"value": 1e306}]}
        frame = await cp.call("MeterValues", {"evseId": 1, "meterValue": [meter]})
        assert frame[0] == 4 and frame[2] == "PropertyConstraintViolation", frame
        await cp.ok("Heartbeat", {})
