"""A real 1.6 session over the CSMS priced by its charger's plan: the running cost while it charges,
then the final cost and currency written when it stops (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from csms_helpers import add_charger, add_tenant, add_token
from fastapi.testclient import TestClient
from rawcp import RawChargePoint
from sqlmodel import select

from pipelet_app.api import build_api
from pipelet_app.auth.api_keys import create_api_key
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargingSession, PricingPlan, Role, Site, User
from pipelet_app.ocpp.server import CsmsServer

# Flat rates, so the figures do not depend on the day the test runs (windows: tests/unit/domain/pricing).
PLAN = {
    "base": {"per_kwh": "0.40", "per_hour": "0"},
    "session_fee": "0.50",
    "idle_fee_per_minute": "0.10",
    "idle_grace_minutes": 15,
    "windows": [],
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def setup() -> str:
    tenant = add_tenant("op-priced")
    add_charger("CP-P", tenant_id=tenant)
    add_token(tenant, "TAG-OK")
    with session_scope() as db:
        site = Site(tenant_id=tenant, name="Depot", timezone="Europe/Berlin", currency="CHF")
        plan = PricingPlan(tenant_id=tenant, name="Flat", definition=PLAN)
        db.add(site)
        db.add(plan)
        db.flush()
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "CP-P")).one()
        charger.site_id, charger.pricing_plan_id, charger.price_multiplier = site.id, plan.id, Decimal("1.1")
        db.add(charger)
        user = User(email="op@priced.test", role=Role.OPERATOR, tenant_id=tenant)
        db.add(user)
        db.flush()
        return create_api_key(db, user, "test")[1]


def meter(value: float, at: datetime) -> dict:
    sampled = [{"value": str(value), "unit": "Wh", "measurand": "Energy.Active.Import.Register"}]
    return {"timestamp": iso(at), "sampledValue": sampled}


async def test_a_stopped_session_gets_its_cost_and_currency(csms_any: CsmsServer) -> None:
    token = setup()
    api = TestClient(build_api(), raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {token}"}
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    async with RawChargePoint(f"ws://127.0.0.1:{csms_any.port}", "CP-P") as cp:
        await cp.boot16()
        start = await cp.ok(
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG-OK", "meterStart": 1000, "timestamp": iso(t0)},
        )
        tx = start["transactionId"]
        mv = {"connectorId": 1, "transactionId": tx, "meterValue": [meter(11_000, t0 + timedelta(hours=1))]}
        await cp.ok("MeterValues", mv)
        with session_scope() as db:
            transaction_id = db.exec(select(ChargingSession.transaction_id)).one()
        running = api.get(f"/api/v1/sessions/{transaction_id}/cost", headers=auth).json()
        assert running["final"] is False and running["currency"] == "CHF"
        # 10 kWh x 0.40 x 1.1 = 4.40 and the fee 0.55 so far, plus idle time growing with the clock
        assert running["lines"][:2] == [
            {"label": "Session fee", "amount": "0.55"},
            {"label": "Energy (standard)", "amount": "4.40"},
        ]
        assert sum(Decimal(line["amount"]) for line in running["lines"]) == Decimal(running["total"])
        stop = {"transactionId": tx, "meterStop": 11_000, "timestamp": iso(t0 + timedelta(hours=2))}
        await cp.ok("StopTransaction", stop)
    with session_scope() as db:
        session = db.exec(select(ChargingSession)).one()
        # idle: 60 minutes after the last energy, 15 free -> 45 x 0.10 x 1.1 = 4.95
        assert (session.cost, session.currency) == (Decimal("9.90"), "CHF")
    final = api.get(f"/api/v1/sessions/{transaction_id}/cost", headers=auth).json()
    assert final == {
        "total": "9.90",
        "currency": "CHF",
        "final": True,
        "lines": [
            {"label": "Session fee", "amount": "0.55"},
            {"label": "Energy (standard)", "amount": "4.40"},
            {"label": "Idle fee", "amount": "4.95"},
        ],
    }
    # a new plan for the charger later does not reprice a finished session
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "CP-P")).one()
        charger.price_multiplier = Decimal(2)
        db.add(charger)
    later = api.get(f"/api/v1/sessions/{transaction_id}/cost", headers=auth).json()
    assert later["total"] == "9.90" and sum(Decimal(line["amount"]) for line in later["lines"]) == Decimal(
        "9.90"
    )
