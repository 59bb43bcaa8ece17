"""Start and Stop next to the connector: the operator picks a token, presses Start, and the charger gets
RemoteStartTransaction with it; the running session gets a Stop button that sends its transaction id."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_operator_charger import LiveChargePoint


def test_start_and_stop_from_the_connector_row(page: Page, server: dict) -> None:
    passwords = {cp["id"]: cp["password"] for cp in server["demo"]["charge_points"]}
    charger = LiveChargePoint(server["csms_port"], "SON-CP-003", passwords["SON-CP-003"])
    for action in ("RemoteStartTransaction", "RemoteStopTransaction"):
        charger.cp.responders[action] = (
            lambda a: lambda payload: (charger.received.append((a, payload)), {"status": "Accepted"})[1]
        )(action)
    try:
        sign_in(page, server, "operator@sonnenstrom.demo")
        expect(page.locator("#operator-chargers")).to_be_visible(timeout=20_000)
        page.goto(f"{server['base']}/operator/chargers/SON-CP-003")
        expect(page.locator("#charger-online")).to_have_text("Online", timeout=20_000)
        page.select_option("#start-token-2", "ACME0002")
        page.click("#start-2")
        expect(page.locator("#command-answer")).to_contain_text("Accepted", timeout=30_000)
        assert charger.received[-1] == ("RemoteStartTransaction", {"connectorId": 2, "idTag": "ACME0002"})

        # The charger starts the session it was asked for: a Stop button appears next to connector 2.
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        started = charger.run(
            charger.cp.ok(
                "StartTransaction", {"connectorId": 2, "idTag": "ACME0002", "meterStart": 0, "timestamp": now}
            )
        )
        stop = page.locator("#stop-connector-2")
        expect(stop).to_be_visible(timeout=5_000)
        screenshot(page, "operator-start-stop")
        stop.click()
        expect(page.locator("#command-answer")).to_contain_text("remote-stop", timeout=30_000)
        assert charger.received[-1] == ("RemoteStopTransaction", {"transactionId": started["transactionId"]})
    finally:
        charger.close()
