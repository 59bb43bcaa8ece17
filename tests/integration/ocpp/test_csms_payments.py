"""The pay flow end to end: a raw-JSON OCPP 1.6 charger on a real WebSocket to the CSMS, localstripe
over HTTP (behind a recording proxy), an SMTP server on loopback, SQLite and PostgreSQL.

pay (card pre-authorised, manual capture) -> remote start with a one-time tag -> StartTransaction
authorised by that tag -> meter values -> stop -> sweep: capture the final price (capped at the hold,
shortfall recorded) or cancel (under 2 kWh, declined, refused or never started) -> receipt e-mail.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from csms_helpers import add_charger, add_tenant, url_of
from rawcp import RawChargePoint
from sqlmodel import select

from pipelet_app.api import build_api
from pipelet_app.auth import NotFound
from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    DisplayMessage,
    IdToken,
    IdTokenStatus,
    Payment,
    PaymentState,
    PricingPlan,
    Site,
)
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.payments import flow, ledger
from pipelet_app.payments.gateway import StripeGateway
from pipelet_app.settings import get_settings
from tests.fakes.stripe_fake import RecordingProxy, browser_confirm, localstripe  # noqa: F401  (the fixture)
from tests.waiting import wait_for

PLAN = {"base": {"per_kwh": "0.40", "per_hour": "0"}, "session_fee": "0.50", "windows": []}
SECRET = "whsec_test_payments"
VISA = "4242424242424242"
DECLINED = "4000000000000341"


@pytest.fixture
def stripe_env(localstripe: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:  # noqa: F811
    proxy = RecordingProxy(localstripe)
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_pipelet")
    monkeypatch.setenv("STRIPE_API_BASE", proxy.url)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    get_settings.cache_clear()
    yield proxy
    proxy.close()
    get_settings.cache_clear()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def setup_site(hold: str = "20") -> None:
    tenant = add_tenant("op-pay")
    add_charger("CP-PAY", tenant_id=tenant)
    with session_scope() as db:
        site = Site(tenant_id=tenant, name="Harbour", timezone="Europe/Berlin", currency="EUR")
        site.preauth_amount = Decimal(hold)
        plan = PricingPlan(tenant_id=tenant, name="Flat", definition=PLAN)
        db.add(site)
        db.add(plan)
        db.flush()
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "CP-PAY")).one()
        charger.site_id, charger.pricing_plan_id = site.id, plan.id
        db.add(charger)


async def pay_by_card(key: str, card: str = VISA) -> dict:
    """The pay page's round trip: our server opens the intent and hands out its client_secret, the
    browser's Stripe.js confirms the card at Stripe (browser_confirm: the card never reaches our server),
    the page tells our server, which asks Stripe and starts the connector only on `requires_capture`."""
    begun = await flow.pay(flow.PayRequest("CP-PAY", 1, "driver@example.test", key))
    assert begun["state"] == "pending" and begun["secret"].startswith("pi_"), begun
    await asyncio.to_thread(browser_confirm, get_settings().stripe_api_base, begun["secret"], card)
    return await flow.confirmed(begun["token"])


async def plugged_in(cp: RawChargePoint) -> list[dict]:
    await cp.boot16()
    await cp.ok("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"})
    starts: list[dict] = []
    cp.responders["RemoteStartTransaction"] = lambda payload: starts.append(payload) or {"status": "Accepted"}
    return starts


async def charge(cp: RawChargePoint, tag: str, wh: int) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    start = await cp.ok(
        "StartTransaction", {"connectorId": 1, "idTag": tag, "meterStart": 0, "timestamp": iso(t0)}
    )
    assert start["idTagInfo"]["status"] == "Accepted"
    tx = start["transactionId"]
    await asyncio.to_thread(sweep)  # links the session while it runs
    sampled = [{"value": str(wh), "unit": "Wh", "measurand": "Energy.Active.Import.Register"}]
    await cp.ok(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [{"timestamp": iso(t0 + timedelta(minutes=20)), "sampledValue": sampled}],
        },
    )
    await cp.ok(
        "StopTransaction",
        {"transactionId": tx, "meterStop": wh, "timestamp": iso(t0 + timedelta(minutes=25))},
    )


def sweep() -> int:
    with session_scope() as db:
        return flow.settle_due(db, StripeGateway())


def payment() -> Payment:
    with session_scope() as db:
        return db.exec(select(Payment)).one()


def intent(intent_id: str) -> dict:
    return StripeGateway().client.v1.payment_intents.retrieve(intent_id).to_dict()


async def test_pay_start_charge_capture_receipt(
    csms_any: CsmsServer, stripe_env: RecordingProxy, smtp_inbox
) -> None:
    setup_site()
    async with RawChargePoint(url_of(csms_any), "CP-PAY") as cp:
        starts = await plugged_in(cp)
        with session_scope() as db:
            offer = flow.offer(db, "CP-PAY", 1)
        assert offer["available"] and offer["preauth"] == "20.00" and offer["currency"] == "EUR"
        assert offer["tariff"][0] == "0.40 EUR per kWh"
        req = flow.PayRequest("CP-PAY", 1, "driver@example.test", "press-0001")
        begun = await flow.pay(req)
        twice = await flow.pay(req)  # the double-clicked button: the same payment and the same intent
        assert (twice["token"], twice["secret"]) == (begun["token"], begun["secret"])
        assert begun["state"] == "pending" and starts == []  # nothing starts before the card holds
        early = await flow.confirmed(begun["token"])  # the page reporting back before any card: no start
        assert early["state"] == "pending" and starts == []
        confirm = browser_confirm(get_settings().stripe_api_base, begun["secret"], VISA)
        assert confirm["status"] == "requires_capture"
        shown, again = await asyncio.gather(flow.confirmed(begun["token"]), flow.confirmed(begun["token"]))
        assert shown["state"] == again["state"] == "authorized" and shown["authorized"] == "20.00"
        paid = payment()
        assert starts == [{"connectorId": 1, "idTag": paid.id_tag}]  # one start for two reports
        assert [p for p in stripe_env.seen if p[1] == "/v1/payment_intents"] == [
            ("POST", "/v1/payment_intents", f"pipelet-pay-{paid.id}-authorize")
        ]
        # The card went from the "browser" to Stripe only: our server never created a payment method.
        assert not [p for p in stripe_env.seen if p[1].startswith("/v1/payment_methods")]
        await charge(cp, paid.id_tag, 10_000)
    assert sweep() == 1
    settled = payment()
    # 0.50 fee + 10 kWh x 0.40 = 4.50, well under the 20.00 hold
    assert (settled.state, settled.captured_amount, settled.shortfall) == (
        PaymentState.CAPTURED,
        Decimal("4.50"),
        0,
    )
    assert settled.session_id is not None
    captures = [p for p in stripe_env.seen if p[1].endswith("/capture")]
    assert captures == [
        ("POST", f"/v1/payment_intents/{settled.provider_ref}/capture", f"pipelet-pay-{settled.id}-capture")
    ]
    at_stripe = intent(settled.provider_ref)
    assert at_stripe["status"] == "succeeded"
    assert at_stripe["latest_charge"]["amount"] - at_stripe["latest_charge"]["amount_refunded"] == 450
    with session_scope() as db:
        kinds = [(str(e.kind), e.amount) for e in ledger.entries(db, settled.id)]
        assert kinds == [("authorized", Decimal("20.000")), ("captured", Decimal("4.500"))]
        tag = db.exec(select(IdToken).where(IdToken.token == settled.id_tag)).one()
        assert tag.status == IdTokenStatus.BLOCKED  # the one-time tag starts nothing else
        page = flow.status(db, settled.public_token)
    assert page["state"] == "captured" and page["cost"]["total"] == "4.50" and page["energy_kwh"] == "10.00"
    assert len(smtp_inbox.messages) == 1
    to, raw = smtp_inbox.messages[0]
    assert (
        to == ["driver@example.test"] and "Total: 4.50 EUR" in raw and "Charged to your card: 4.50 EUR" in raw
    )
    assert sweep() == 0 and len(smtp_inbox.messages) == 1  # settled once, one receipt
    with session_scope() as db, pytest.raises(NotFound):
        flow.status(db, "not-the-token")


async def test_under_2_kwh_is_free_and_the_hold_is_cancelled(
    csms_any: CsmsServer, stripe_env: RecordingProxy
) -> None:
    setup_site()
    async with RawChargePoint(url_of(csms_any), "CP-PAY") as cp:
        await plugged_in(cp)
        await pay_by_card("press-0002")
        await charge(cp, payment().id_tag, 1_500)
    sweep()
    paid = payment()
    assert paid.state == PaymentState.CANCELLED and paid.captured_amount == 0 and "under 2 kWh" in paid.note
    assert intent(paid.provider_ref)["status"] == "canceled"
    assert (
        "POST",
        f"/v1/payment_intents/{paid.provider_ref}/cancel",
        f"pipelet-pay-{paid.id}-cancel",
    ) in stripe_env.seen


async def test_a_price_above_the_hold_captures_the_hold_and_records_the_shortfall(
    csms_any: CsmsServer, stripe_env: RecordingProxy
) -> None:
    setup_site(hold="5")
    async with RawChargePoint(url_of(csms_any), "CP-PAY") as cp:
        await plugged_in(cp)
        await pay_by_card("press-0003")
        await charge(cp, payment().id_tag, 30_000)  # 0.50 + 12.00 = 12.50
    sweep()
    paid = payment()
    assert (paid.state, paid.captured_amount, paid.shortfall) == (
        PaymentState.CAPTURED,
        Decimal(5),
        Decimal("7.50"),
    )
    with session_scope() as db:
        assert [str(e.kind) for e in ledger.entries(db, paid.id)] == ["authorized", "captured", "shortfall"]
    keys = operator_keys()
    with session_scope() as db:
        site_id = db.exec(select(Site.id)).one()
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as api:
        unpriced = await api.get("/api/v1/revenue?by=site", headers=keys["mine"])
        price_url = f"/api/v1/sites/{site_id}/energy-price"
        foreign_price = await api.put(price_url, json={"per_kwh": "0.2"}, headers=keys["other"])
        bad_price = await api.put(price_url, json={"per_kwh": "-1"}, headers=keys["mine"])
        priced = await api.put(price_url, json={"per_kwh": "0.18"}, headers=keys["mine"])
        mine = await api.get("/api/v1/revenue?by=charger", headers=keys["mine"])
        theirs = await api.get("/api/v1/revenue?by=site", headers=keys["other"])
        csv_text = await api.get(
            "/api/v1/revenue.csv?by=site&from=2020-01-01T00:00:00Z", headers=keys["mine"]
        )
        drill = await api.get(
            "/api/v1/revenue/sessions?by=site&key=Harbour&currency=EUR", headers=keys["mine"]
        )
        foreign_drill = await api.get(
            "/api/v1/revenue/sessions?by=site&key=Harbour&currency=EUR", headers=keys["other"]
        )
        bad = await api.get("/api/v1/revenue?by=planet", headers=keys["mine"])
    assert unpriced.json()["rows"][0]["energy_cost_complete"] is False  # unknown, not zero
    assert foreign_price.status_code == 404
    assert bad_price.status_code == 422 and bad_price.json()["error"]["message"].startswith("per_kwh:")
    assert priced.json() == {"site_id": site_id, "currency": "EUR", "per_kwh": "0.18"}
    assert mine.status_code == 200, mine.text
    assert mine.json()["rows"] == [
        {
            "charger": "CP-PAY",
            "currency": "EUR",
            "sessions": 1,
            "energy_kwh": "30",
            "revenue": "12.500",
            "collected": "5.000",
            "shortfall": "7.500",
            "energy_cost": "5.400",  # 30 kWh x 0.18
            "margin": "7.100",
            "energy_cost_complete": True,
        }
    ]
    assert theirs.json()["rows"] == []  # another operator sees none of it
    assert csv_text.text.splitlines()[1] == "Harbour,EUR,1,30,12.500,5.000,7.500,5.400,7.100,True"
    assert [(s["charger"], s["price"], s["collected"], s["energy_cost"]) for s in drill.json()] == [
        ("CP-PAY", "12.500", "5.000", "5.400")
    ]
    assert foreign_drill.json() == []
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("by:")


async def test_declined_refused_and_never_started_start_nothing_unpaid(
    csms_any: CsmsServer, stripe_env: RecordingProxy
) -> None:
    setup_site()
    gateway = StripeGateway()
    async with RawChargePoint(url_of(csms_any), "CP-PAY") as cp:
        starts = await plugged_in(cp)
        declined = await pay_by_card("press-0004", card=DECLINED)
        assert declined["state"] == "failed" and "declined" in declined["note"] and starts == []
        with session_scope() as db:
            assert db.exec(select(IdToken)).all() == []  # no tag: nothing can start on it
            ref = db.exec(select(Payment.provider_ref)).one()
        assert intent(ref)["status"] == "canceled"  # its client_secret can hold nothing later
        cp.responders["RemoteStartTransaction"] = lambda payload: {"status": "Rejected"}
        refused = await pay_by_card("press-0005")
        assert refused["state"] == "cancelled" and "refused" in refused["note"]
        cp.responders["RemoteStartTransaction"] = lambda payload: {"status": "Accepted"}
        waiting = await pay_by_card("press-0006")
        assert waiting["state"] == "authorized"
    with session_scope() as db:
        assert flow.settle_due(db, gateway, now=datetime.now(UTC) + timedelta(minutes=5)) == 0
        assert (
            flow.settle_due(db, gateway, now=datetime.now(UTC) + flow.START_WINDOW + timedelta(minutes=1))
            == 1
        )
        never = flow.status(db, waiting["token"])
        tags = {t.status for t in db.exec(select(IdToken)).all()}
    assert never["state"] == "cancelled" and "never started" in never["note"]
    assert tags == {IdTokenStatus.BLOCKED}


def signed(body: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={mac}", "Content-Type": "application/json"}


async def test_webhook_verifies_and_applies_each_event_once(
    csms_any: CsmsServer, stripe_env: RecordingProxy
) -> None:
    setup_site()
    async with RawChargePoint(url_of(csms_any), "CP-PAY") as cp:
        await plugged_in(cp)
        await pay_by_card("press-0007")
    paid = payment()
    event = {
        "id": "evt_cancel_1",
        "object": "event",
        "type": "payment_intent.canceled",
        "data": {"object": {"id": paid.provider_ref, "object": "payment_intent", "amount": 2000}},
    }
    body = json.dumps(event).encode()
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as api:
        hook = "/api/v1/payments/stripe/webhook"
        forged = await api.post(hook, content=body, headers=signed(body, secret="whsec_wrong"))
        stale = await api.post(hook, content=body, headers=signed(body, at=int(time.time()) - 3600))
        unsigned = await api.post(hook, content=body, headers={"Content-Type": "application/json"})
        huge = await api.post(hook, content=b" " * (70 * 1024), headers=signed(b" " * (70 * 1024)))
        assert [forged.status_code, stale.status_code, unsigned.status_code, huge.status_code] == [
            400,
            400,
            400,
            413,
        ]
        assert payment().state == PaymentState.AUTHORIZED  # nothing above changed anything
        first = await api.post(hook, content=body, headers=signed(body))
        replay = await api.post(hook, content=body, headers=signed(body))  # same event, fresh signature
    assert first.status_code == 200 and first.json()["result"] == "applied"
    assert replay.status_code == 200 and replay.json()["result"] == "duplicate"
    assert payment().state == PaymentState.CANCELLED


def test_no_payable_connector_is_not_found(database: str) -> None:
    setup_site()
    with session_scope() as db:
        for cp_id, connector in (("CP-PAY", 9), ("CP-NONE", 1)):
            with pytest.raises(NotFound):
                flow.offer(db, cp_id, connector)


def operator_keys() -> dict[str, dict[str, str]]:
    """API keys of an operator of CP-PAY's tenant ("mine") and of another operator tenant ("other")."""
    from pipelet_app.auth.api_keys import create_api_key
    from pipelet_app.db.models import Role, User

    other = add_tenant("op-other")
    keys = {}
    with session_scope() as db:
        mine = db.exec(select(Charger.tenant_id).where(Charger.charge_point_id == "CP-PAY")).one()
        for name, tenant in (("mine", mine), ("other", other)):
            user = User(email=f"{name}@pay.test", role=Role.OPERATOR, tenant_id=tenant)
            db.add(user)
            db.flush()
            keys[name] = {"Authorization": f"Bearer {create_api_key(db, user, 'test')[1]}"}
    return keys


async def test_the_qr_sheet_is_the_operators_own(csms_any: CsmsServer) -> None:
    setup_site()
    keys = operator_keys()
    with session_scope() as db:
        site_id = db.exec(select(Site.id)).one()
    async with RawChargePoint(url_of(csms_any), "CP-PAY") as cp:
        await plugged_in(cp)  # the connector row exists once the charger reported it
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as api:
        sheet = await api.get(f"/api/v1/sites/{site_id}/pay-qr", headers=keys["mine"])
        foreign = await api.get(f"/api/v1/sites/{site_id}/pay-qr", headers=keys["other"])
        anonymous = await api.get(f"/api/v1/sites/{site_id}/pay-qr")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/html")
    assert sheet.text.count("<svg") == 1 and "/pay/CP-PAY/1" in sheet.text and "Harbour" in sheet.text
    assert (foreign.status_code, anonymous.status_code) == (404, 401)


async def test_a_201_station_is_told_the_final_price_when_the_transaction_ends(csms_any: CsmsServer) -> None:
    from csms_helpers import add_token

    setup_site()
    with session_scope() as db:
        add_token(db.exec(select(Charger.tenant_id)).one(), "RFID-201")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)

    def event(kind: str, seq: int, wh: int, context: str, at: datetime, **extra: object) -> dict:
        sampled = [{"value": wh, "measurand": "Energy.Active.Import.Register", "context": context}]
        return {
            "eventType": kind,
            "timestamp": iso(at),
            "triggerReason": "Authorized" if kind == "Started" else "EVCommunicationLost",
            "seqNo": seq,
            "transactionInfo": {"transactionId": "tx-cost"},
            "meterValue": [{"timestamp": iso(at), "sampledValue": sampled}],
            **extra,
        }

    async with RawChargePoint(url_of(csms_any), "CP-PAY", subprotocols=("ocpp2.0.1",)) as cp:
        await cp.boot201()
        token = {"idToken": "RFID-201", "type": "ISO14443"}
        started = await cp.ok(
            "TransactionEvent",
            event("Started", 0, 0, "Transaction.Begin", t0, idToken=token, evse={"id": 1, "connectorId": 1}),
        )
        assert "totalCost" not in started  # the price is final only at the end
        update = event("Updated", 1, 3_000, "Sample.Periodic", t0 + timedelta(minutes=10))
        await cp.ok("TransactionEvent", update)
        frame = await cp.next_server_call()
        assert frame[2:] == ["CostUpdated", {"totalCost": 1.7, "transactionId": "tx-cost"}]  # 0.50 + 3 x 0.40
        await cp.answer(frame, {})
        shown = await cp.next_server_call()  # the same on the station's screen
        assert shown[2] == "SetDisplayMessage"
        message = shown[3]["message"]
        assert (message["transactionId"], message["priority"]) == ("tx-cost", "InFront")
        assert message["message"] == {
            "format": "UTF8",
            "content": "Cost so far: 1.70 EUR for 3.00 kWh (0.40 EUR/kWh, 0.50 EUR per session)",
        }
        await cp.answer(shown, {"status": "Accepted"})
        again = event("Updated", 2, 3_500, "Sample.Periodic", t0 + timedelta(minutes=12))
        await cp.ok("TransactionEvent", again)
        assert cp.server_calls.empty()  # not one per meter value: at most one per CSMS_COST_UPDATE_INTERVAL_S
        ended = await cp.ok(
            "TransactionEvent", event("Ended", 3, 5_000, "Transaction.End", t0 + timedelta(minutes=20))
        )
    assert ended["totalCost"] == 2.5  # 0.50 fee + 5 kWh x 0.40

    def stored() -> list[tuple]:  # written by the CSMS after the station's answer, on a worker thread
        with session_scope() as db:
            return [(m.message_id, m.source, m.transaction_id) for m in db.exec(select(DisplayMessage))]

    # the accepted message is remembered like any other (display-messages API)
    await wait_for(lambda: bool(stored()), what="the running-cost display message stored")
    assert stored() == [(message["id"], "running-cost", "tx-cost")]


async def test_a_16_charger_that_declares_california_pricing_is_told_its_price_and_cost(
    csms_any: CsmsServer,
) -> None:
    """OCA California Pricing over 1.6 DataTransfer (vendorId org.openchargealliance.costmsg), only to
    a charger whose configuration says CustomDisplayCostAndPrice = true: SetUserPrice after the
    accepted start, RunningCost after meter values (at most once a minute), FinalCost after the stop.
    A priced charger that did not declare it gets none of them."""
    from csms_helpers import add_token

    from pipelet_app.ocpp.device_model import V16_COMPONENT, upsert_variable

    setup_site()
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "CP-PAY")).one()
        add_token(charger.tenant_id, "RFID-16")
        upsert_variable(
            db, charger.id, component=V16_COMPONENT, variable="CustomDisplayCostAndPrice", value="true"
        )  # as the charger's GetConfiguration answer is stored
        plain = Charger(
            charge_point_id="CP-PLAIN",
            tenant_id=charger.tenant_id,
            site_id=charger.site_id,
            pricing_plan_id=charger.pricing_plan_id,
            auth_mode=charger.auth_mode,
        )
        db.add(plain)
        db.commit()
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)

    def data(frame: list) -> dict:
        assert frame[2] == "DataTransfer" and frame[3]["vendorId"] == "org.openchargealliance.costmsg"
        return {"messageId": frame[3]["messageId"], **json.loads(frame[3]["data"])}

    async def session(cp: RawChargePoint) -> int:
        await cp.boot16()
        start = await cp.ok(
            "StartTransaction", {"connectorId": 1, "idTag": "RFID-16", "meterStart": 0, "timestamp": iso(t0)}
        )
        return start["transactionId"]

    def meter(tx: int, wh: int, minutes: int) -> dict:
        sampled = [{"value": str(wh), "unit": "Wh", "measurand": "Energy.Active.Import.Register"}]
        at = iso(t0 + timedelta(minutes=minutes))
        return {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [{"timestamp": at, "sampledValue": sampled}],
        }

    async with RawChargePoint(url_of(csms_any), "CP-PAY") as cp:
        tx = await session(cp)
        frame = await cp.next_server_call()
        assert data(frame) == {
            "messageId": "SetUserPrice",
            "idToken": "RFID-16",
            "priceText": "0.40 EUR/kWh, 0.50 EUR per session",
        }
        await cp.answer(frame, {"status": "Accepted"})
        await cp.ok("MeterValues", meter(tx, 3_000, 10))
        frame = await cp.next_server_call()
        running = data(frame)
        assert running.pop("timestamp").endswith("Z")
        assert running == {
            "messageId": "RunningCost",
            "transactionId": tx,
            "meterValue": 3000,
            "cost": 1.7,  # 0.50 + 3 kWh x 0.40
            "state": "Charging",
            "chargingPrice": {"kWhPrice": 0.4, "hourPrice": 0.0, "flatFee": 0.5},
        }
        await cp.answer(frame, {"status": "Accepted"})
        await cp.ok("MeterValues", meter(tx, 3_500, 12))
        assert await cp.no_response(0.5) and cp.server_calls.empty()  # at most once a minute
        await cp.ok(
            "StopTransaction",
            {"transactionId": tx, "meterStop": 5_000, "timestamp": iso(t0 + timedelta(minutes=20))},
        )
        frame = await cp.next_server_call()
        assert data(frame) == {
            "messageId": "FinalCost",
            "transactionId": tx,
            "cost": 2.5,
            "priceText": "Total: 2.50 EUR",
            "qrCodeText": "",
        }
        await cp.answer(frame, {"status": "Accepted"})

    async with RawChargePoint(url_of(csms_any), "CP-PLAIN") as cp:
        tx = await session(cp)
        await cp.ok("MeterValues", meter(tx, 3_000, 10))
        await cp.ok(
            "StopTransaction",
            {"transactionId": tx, "meterStop": 5_000, "timestamp": iso(t0 + timedelta(minutes=20))},
        )
        assert await cp.no_response(0.5) and cp.server_calls.empty()  # no declaration: no cost messages


async def test_the_operator_sees_every_payment_and_refunds_once(
    csms_any: CsmsServer, stripe_env: RecordingProxy
) -> None:
    setup_site()
    async with RawChargePoint(url_of(csms_any), "CP-PAY") as cp:
        await plugged_in(cp)
        await pay_by_card("press-0010")
        await charge(cp, payment().id_tag, 10_000)  # 4.50
    sweep()
    paid = payment()
    keys = operator_keys()
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as api:
        listed = (await api.get("/api/v1/payments", headers=keys["mine"])).json()
        foreign_list = (await api.get("/api/v1/payments", headers=keys["other"])).json()
        foreign = await api.post(f"/api/v1/payments/{paid.id}/refund", json={}, headers=keys["other"])
        too_much = await api.post(
            f"/api/v1/payments/{paid.id}/refund", json={"amount": "9.99"}, headers=keys["mine"]
        )
        done = await api.post(
            f"/api/v1/payments/{paid.id}/refund", json={"amount": "1.50"}, headers=keys["mine"]
        )
        again = await api.post(
            f"/api/v1/payments/{paid.id}/refund", json={"amount": "1.00"}, headers=keys["mine"]
        )
    assert [(p["state"], p["captured"], p["next_step"]) for p in listed] == [
        ("captured", "4.50", "done; a refund is possible")
    ]
    assert foreign_list == [] and foreign.status_code == 404
    assert too_much.status_code == 422 and too_much.json()["error"]["message"].startswith("amount:")
    assert done.status_code == 200, done.text
    assert (done.json()["refunded"], done.json()["next_step"]) == ("1.50", "done; refunded")
    assert again.status_code == 422  # one refund per payment
    assert ("POST", "/v1/refunds", f"pipelet-pay-{paid.id}-refund") in stripe_env.seen


async def test_a_run_of_refused_cards_closes_the_connector_for_a_while(
    csms_any: CsmsServer, stripe_env: RecordingProxy
) -> None:
    from pipelet_app.auth import InvalidInput

    setup_site()
    async with RawChargePoint(url_of(csms_any), "CP-PAY") as cp:
        starts = await plugged_in(cp)
        for i in range(flow.DECLINES_ALLOWED):
            assert (await pay_by_card(f"press-1{i:03}", card=DECLINED))["state"] == "failed"
        with pytest.raises(InvalidInput, match=r"^card: too many refused cards"):
            await pay_by_card("press-1999")  # even a good card: the run looks like testing
    assert starts == []
    with session_scope() as db:
        for p in db.exec(select(Payment)).all():
            p.created_at -= flow.DECLINE_WINDOW  # a quarter of an hour later
            db.add(p)
        stuck = Payment(
            tenant_id=p.tenant_id, charger_id=p.charger_id, connector_id=1, id_tag="PAYSTUCK",
            request_key="press-stuck", public_token="stuck-token", authorized_amount=Decimal(20),
            created_at=datetime.now(UTC) - flow.PENDING_GIVE_UP - timedelta(minutes=1),
        )  # fmt: skip
        db.add(stuck)
    async with RawChargePoint(url_of(csms_any), "CP-PAY") as cp:
        await plugged_in(cp)
        assert (await pay_by_card("press-2000"))["state"] == "authorized"
        # A card confirmed at Stripe whose page never reported back (and no webhook came): not started,
        # and after the give-up time its hold is released.
        lost = await flow.pay(flow.PayRequest("CP-PAY", 1, "driver@example.test", "press-lost"))
        browser_confirm(get_settings().stripe_api_base, lost["secret"], VISA)
    with session_scope() as db:
        late = db.exec(select(Payment).where(Payment.request_key == "press-lost")).one()
        late.created_at -= flow.PENDING_GIVE_UP + timedelta(minutes=1)
        db.add(late)
    sweep()
    with session_scope() as db:
        assert flow.status(db, "stuck-token")["state"] == "failed"  # Stripe never answered: given up
        gave_up = flow.status(db, lost["token"])
    assert gave_up["state"] == "failed" and "not confirmed within 10 minutes" in gave_up["note"]
    assert intent(late.provider_ref)["status"] == "canceled"


async def test_the_signed_webhook_starts_a_paid_connector_the_page_never_reported(
    csms_any: CsmsServer, stripe_env: RecordingProxy
) -> None:
    """The driver's phone lost its connection right after Stripe.js confirmed the card: Stripe's signed
    `amount_capturable_updated` authorises the payment and starts the connector; the page's late report
    then finds it done (one start). A hold on a payment that already ended is released instead."""
    setup_site()
    async with RawChargePoint(url_of(csms_any), "CP-PAY") as cp:
        starts = await plugged_in(cp)
        begun = await flow.pay(flow.PayRequest("CP-PAY", 1, "driver@example.test", "press-hook"))
        held = browser_confirm(get_settings().stripe_api_base, begun["secret"], VISA)
        event = {
            "id": "evt_capturable_1",
            "object": "event",
            "type": "payment_intent.amount_capturable_updated",
            "data": {"object": held},
        }
        body = json.dumps(event).encode()
        transport = httpx.ASGITransport(app=build_api())
        async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as api:
            hook = "/api/v1/payments/stripe/webhook"
            first = await api.post(hook, content=body, headers=signed(body))
            replay = await api.post(hook, content=body, headers=signed(body))
        assert first.json()["result"] == "applied" and replay.json()["result"] == "duplicate"
        paid = payment()
        assert paid.state == PaymentState.AUTHORIZED and starts == [{"connectorId": 1, "idTag": paid.id_tag}]
        late = await flow.confirmed(begun["token"])
        assert late["state"] == "authorized" and len(starts) == 1

        other = await flow.pay(flow.PayRequest("CP-PAY", 1, "driver@example.test", "press-late"))
        with session_scope() as db:  # a payment that ended (given up) whose card is confirmed late
            late_payment = db.exec(select(Payment).where(Payment.request_key == "press-late")).one()
            late_payment.state = PaymentState.FAILED
            db.add(late_payment)
        held = browser_confirm(get_settings().stripe_api_base, other["secret"], VISA)
        body = json.dumps({**event, "id": "evt_capturable_2", "data": {"object": held}}).encode()
        async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as api:
            released = await api.post("/api/v1/payments/stripe/webhook", content=body, headers=signed(body))
    assert released.json()["result"] == "released" and len(starts) == 1
    assert intent(held["id"])["status"] == "canceled"


async def test_holds_stuck_in_requires_capture_are_reconciled_once_before_stripe_voids_them(
    csms_any: CsmsServer, stripe_env: RecordingProxy
) -> None:
    """A session that never ends keeps its hold `requires_capture`; on day 6 reconciliation captures its
    price so far (same key as the sweep's capture), a hold Stripe already voided is recorded as cancelled,
    and a second run changes nothing. The operator sees both as stuck before, with the reason after."""
    from pipelet_app.payments import reconcile

    setup_site()
    async with RawChargePoint(url_of(csms_any), "CP-PAY") as cp:
        await plugged_in(cp)
        await pay_by_card("press-r1")
        with session_scope() as db:
            first = db.exec(select(Payment).where(Payment.request_key == "press-r1")).one()
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
        begun = await cp.ok(
            "StartTransaction",
            {"connectorId": 1, "idTag": first.id_tag, "meterStart": 0, "timestamp": iso(t0)},
        )
        sampled = [{"value": "5000", "unit": "Wh", "measurand": "Energy.Active.Import.Register"}]
        await cp.ok(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": begun["transactionId"],
                "meterValue": [{"timestamp": iso(t0 + timedelta(minutes=20)), "sampledValue": sampled}],
            },
        )  # ... and no StopTransaction, ever
        await pay_by_card("press-r2")  # never started a session; its hold is voided at Stripe below
    with session_scope() as db:
        second = db.exec(select(Payment).where(Payment.request_key == "press-r2")).one()
    StripeGateway().client.v1.payment_intents.cancel(second.provider_ref)  # Stripe's own void on day 7
    gateway = StripeGateway()
    with session_scope() as db:
        assert reconcile.reconcile_due(db, gateway) == []  # not due yet
        for p in db.exec(select(Payment)).all():
            p.created_at -= reconcile.RECONCILE_AFTER + timedelta(minutes=1)
            db.add(p)
        db.commit()
    keys = operator_keys()
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as api:
        listed = (await api.get("/api/v1/payments", headers=keys["mine"])).json()
    assert [(p["state"], p["stuck"]) for p in listed] == [("authorized", True), ("authorized", True)]
    assert all(p["next_step"].startswith("stuck:") for p in listed)
    with session_scope() as db:
        done = dict(reconcile.reconcile_due(db, gateway))
        assert reconcile.reconcile_due(db, gateway) == []  # idempotent: nothing left to do
    # 0.50 fee + 5 kWh x 0.40 so far = 2.50
    assert done == {first.id: "captured 2.50 EUR", second.id: "cancelled (voided at Stripe)"}
    with session_scope() as db:
        captured, voided = db.get(Payment, first.id), db.get(Payment, second.id)
        assert (captured.state, captured.captured_amount) == (PaymentState.CAPTURED, Decimal("2.50"))
        assert "reconciled (the session had not ended)" in captured.note
        assert voided.state == PaymentState.CANCELLED and "voided at Stripe" in voided.note
        assert [str(e.kind) for e in ledger.entries(db, first.id)] == ["authorized", "captured"]
    assert intent(first.provider_ref)["status"] == "succeeded"
    assert (
        "POST",
        f"/v1/payment_intents/{first.provider_ref}/capture",
        f"pipelet-pay-{first.id}-capture",
    ) in (stripe_env.seen)


async def test_a_payter_terminal_payment_starts_like_a_card_and_settles_in_the_same_ledger(
    csms_any: CsmsServer, stripe_env: RecordingProxy
) -> None:
    """The terminal pre-authorises the card itself; its integration reports the pspRef (OCPP 2.1 C18's
    DirectPayment id token), the charger starts with it like an RFID card, the price goes to the ledger
    and the terminal's NotifySettlement-shaped report captures. Nothing goes to Stripe."""
    setup_site()
    keys = operator_keys()
    transport = httpx.ASGITransport(app=build_api())
    report = {"charge_point_id": "CP-PAY", "connector_id": 1, "psp_ref": "PTR-7F3A9C21", "amount": "30.00"}
    async with RawChargePoint(url_of(csms_any), "CP-PAY") as cp:
        await plugged_in(cp)
        async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as api:
            first = await api.post("/api/v1/payments/terminal", json=report, headers=keys["mine"])
            again = await api.post("/api/v1/payments/terminal", json=report, headers=keys["mine"])
            foreign = await api.post("/api/v1/payments/terminal", json=report, headers=keys["other"])
            bad_amount = await api.post(
                "/api/v1/payments/terminal", json={**report, "amount": "-1"}, headers=keys["mine"]
            )
            too_long = await api.post(
                "/api/v1/payments/terminal", json={**report, "psp_ref": "R" * 21}, headers=keys["mine"]
            )  # a 1.6 idTag holds 20 characters
        assert first.status_code == 200, first.text
        assert (first.json()["state"], first.json()["authorized"]) == ("authorized", "30.00")
        assert again.json()["id"] == first.json()["id"]  # reported twice: one payment
        assert foreign.status_code == 404
        assert bad_amount.status_code == 422 and bad_amount.json()["error"]["message"].startswith("amount:")
        assert too_long.status_code == 422 and too_long.json()["error"]["message"].startswith("psp_ref:")
        with session_scope() as db:
            token = db.exec(select(IdToken).where(IdToken.token == "PTR-7F3A9C21")).one()
        assert token.type == "DirectPayment"
        await charge(cp, "PTR-7F3A9C21", 10_000)  # authorised like an RFID card; 0.50 + 10 x 0.40 = 4.50
    assert sweep() == 1
    paid = payment()
    assert paid.provider == "payter" and paid.state == PaymentState.AUTHORIZED
    assert paid.note == "ended: the terminal is to take 4.50 EUR"
    assert sweep() == 0  # said once
    settlement = {"psp_ref": "PTR-7F3A9C21", "status": "Settled", "settlement_amount": "4.50"}
    async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as api:
        wrong = await api.post(
            "/api/v1/payments/terminal/settlement",
            json={**settlement, "status": "Done"},
            headers=keys["mine"],
        )
        theirs = await api.post(
            "/api/v1/payments/terminal/settlement", json=settlement, headers=keys["other"]
        )
        done = await api.post("/api/v1/payments/terminal/settlement", json=settlement, headers=keys["mine"])
        twice = await api.post("/api/v1/payments/terminal/settlement", json=settlement, headers=keys["mine"])
        refund = await api.post(f"/api/v1/payments/{paid.id}/refund", json={}, headers=keys["mine"])
        revenue = await api.get("/api/v1/revenue?by=charger", headers=keys["mine"])
    assert wrong.status_code == 422 and wrong.json()["error"]["message"].startswith("status:")
    assert theirs.status_code == 404
    assert (done.json()["state"], done.json()["captured"], done.json()["shortfall"]) == (
        "captured",
        "4.50",
        "0.00",
    )
    assert twice.json() == done.json()
    assert refund.status_code == 422 and "terminal" in refund.json()["error"]["message"]
    assert revenue.json()["rows"][0]["collected"] == "4.500"  # the same ledger as card payments
    with session_scope() as db:
        assert [str(e.kind) for e in ledger.entries(db, paid.id)] == ["authorized", "captured"]
    assert not [p for p in stripe_env.seen if "PTR-" in p[1]]  # nothing of it went to Stripe
