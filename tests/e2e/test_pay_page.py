"""A driver pays by card on the public pay page at phone size (390 px) and charges.

`pipelet run` (production build) with localstripe as Stripe, its Stripe.js on the page; the charger is
the raw-JSON test charge point on its own thread. Card in Stripe's Element -> Stripe.js confirms the
manual-capture intent at "Stripe" -> our server checks it and starts that connector -> the charger's
session with the one-time tag -> stop -> the web app's payments sweep captures -> the page shows the paid
receipt. The card number never crosses the page's connection to our server; a declined card shows the
refusal and starts nothing; a double click on the button is one payment.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_operator_charger import LiveChargePoint

CP = "SON-CP-003"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def charger(server: dict) -> Iterator[LiveChargePoint]:
    passwords = {cp["id"]: cp["password"] for cp in server["demo"]["charge_points"]}
    live = LiveChargePoint(server["csms_port"], CP, passwords[CP])
    live.starts: list[dict] = []  # type: ignore[misc]
    live.cp.responders["RemoteStartTransaction"] = lambda p: live.starts.append(p) or {"status": "Accepted"}
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    live.run(live.cp.ok("StatusNotification", status))
    yield live
    live.close()


def test_pay_on_a_phone_start_charge_and_see_the_paid_receipt(
    page: Page, server: dict, charger: LiveChargePoint
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    console: list[str] = []  # the browser's console, shown if Stripe.js does not come up
    page.on("console", lambda message: console.append(message.text))
    sent_to_us: list[str] = []  # every frame the page sends to our server (Reflex's websocket)
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent_to_us.append(str(frame))))
    started = time.monotonic()
    page.goto(f"{server['base']}/pay/{CP}/1")
    expect(page.locator("#pay-hold")).to_contain_text("50.00", timeout=30_000)
    first_render_s = time.monotonic() - started
    expect(page.locator("#pay-submit")).to_be_enabled(timeout=20_000)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390  # nothing wider than the phone
    screenshot(page, "pay-page-390")

    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    sent_to_us: list[str] = []  # every frame the page sends to our server (Reflex's websocket)
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent_to_us.append(str(frame))))
    card = page.locator("#pay-card")
    number = card.locator("input[placeholder=number]")
    try:
        expect(number).to_be_visible(timeout=20_000)  # Stripe's Element, mounted by Stripe.js
    except AssertionError:
        raise AssertionError(f"no card Element; browser console: {console}") from None

    def enter(number: str) -> None:
        for field, value in (("number", number), ("exp_month", "12"), ("exp_year", "30"), ("cvc", "123")):
            card.locator(f"input[placeholder={field}]").fill(value)

    page.fill("#pay-email", "driver@example.test")
    enter("4000000000000341")  # declined by Stripe's test rules
    page.locator("#pay-submit").click()
    expect(page.locator("#pay-error")).to_contain_text("declined", timeout=40_000)
    assert charger.starts == []
    screenshot(page, "pay-page-declined-390")

    enter("4242424242424242")
    page.locator("#pay-submit").dblclick()
    expect(page.locator("#pay-state")).to_contain_text("Card authorised", timeout=40_000)
    expect(page).to_have_url(re.compile(r"\?p=[\w-]+$"))
    assert len(charger.starts) == 1 and charger.starts[0]["connectorId"] == 1  # one click's worth
    tag = charger.starts[0]["idTag"]
    assert sent_to_us and not [
        f for f in sent_to_us if "4242424242424242" in f or "4000000000000341" in f
    ]  # card only to Stripe
    screenshot(page, "pay-page-authorised-390")

    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=40)
    start = charger.run(
        charger.cp.ok(
            "StartTransaction", {"connectorId": 1, "idTag": tag, "meterStart": 0, "timestamp": iso(t0)}
        )
    )
    assert start["idTagInfo"]["status"] == "Accepted"
    stop = {
        "transactionId": start["transactionId"],
        "meterStop": 8_000,
        "timestamp": iso(t0 + timedelta(minutes=30)),
    }
    charger.run(charger.cp.ok("StopTransaction", stop))

    deadline = time.monotonic() + 90  # the sweep runs every 15 s
    while "Paid" not in (page.locator("#pay-state").text_content() or "") and time.monotonic() < deadline:
        page.click("#pay-refresh")
        page.wait_for_timeout(3000)
    expect(page.locator("#pay-state")).to_contain_text("Paid")
    expect(page.locator("#pay-energy")).to_have_text("8.00")
    total = page.locator("#pay-total").text_content() or ""
    expect(page.locator("#pay-captured")).to_contain_text(total.split()[0])
    screenshot(page, "pay-page-paid-390")
    print(f"pay page first render at 390 px: {first_render_s:.2f} s")

    page.goto(f"{server['base']}/pay/NO-SUCH-CP/1")
    expect(page.locator("#pay-not-found")).to_be_visible(timeout=20_000)
