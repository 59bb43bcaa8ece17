"""Live pages: what the CSMS hears from a charger shows on the open pages within 5 s, without a reload.

The charger is the raw-JSON OCPP 1.6 test charge point (websockets, Basic auth with the demo password
that `pipelet seed-demo --json` prints), connected to the `pipelet run` under test.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_operator_charger import LiveChargePoint

LIVE_MS = 5_000  # the bound: visible within 5 s of the event


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(connector: int, status: str, error: str = "NoError") -> dict:
    return {"connectorId": connector, "status": status, "errorCode": error, "timestamp": _now()}


def _mark_page(page: Page) -> None:
    """A flag in the page's window: a reload (or a full navigation) would drop it."""
    page.evaluate("window.__notReloaded = true")


def _assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"


def test_charger_page_turns_online_then_faulted_without_reload(page: Page, server: dict) -> None:
    passwords = {cp["id"]: cp["password"] for cp in server["demo"]["charge_points"]}
    sign_in(page, server, "operator@sonnenstrom.demo")
    expect(page.locator("#operator-chargers")).to_contain_text("SON-CP-001", timeout=20_000)
    # the chargers table's link (the "needs attention" card may name the same charger)
    page.locator("#operator-chargers").get_by_role("link", name="SON-CP-001").click()
    expect(page.locator("#charger-status")).to_have_text("Offline", timeout=20_000)
    expect(page.locator("#charger-online")).to_have_text("offline")
    _mark_page(page)

    charger = LiveChargePoint(server["csms_port"], "SON-CP-001", passwords["SON-CP-001"])
    try:
        charger.run(charger.cp.ok("StatusNotification", _status(1, "Available")))
        expect(page.locator("#charger-online")).to_have_text("online", timeout=LIVE_MS)
        expect(page.locator("#charger-status")).to_have_text("Available", timeout=LIVE_MS)

        # A running session's energy moves on the page with the charger's meter values.
        started = charger.run(
            charger.cp.ok(
                "StartTransaction",
                {"connectorId": 1, "idTag": "ACME0001", "meterStart": 1_000_000, "timestamp": _now()},
            )
        )
        charger.run(charger.cp.ok("StatusNotification", _status(1, "Charging")))
        expect(page.locator("#charger-status")).to_have_text("Charging", timeout=LIVE_MS)
        charger.run(
            charger.cp.ok(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": started["transactionId"],
                    "meterValue": [
                        {
                            "timestamp": _now(),
                            "sampledValue": [
                                {
                                    "value": "1002500",
                                    "measurand": "Energy.Active.Import.Register",
                                    "unit": "Wh",
                                }
                            ],
                        }
                    ],
                },
            )
        )
        expect(page.locator("#charger-sessions")).to_contain_text("2.5", timeout=LIVE_MS)

        charger.run(charger.cp.ok("StatusNotification", _status(1, "Faulted", "GroundFailure")))
        expect(page.locator("#charger-status")).to_have_text("Fault", timeout=LIVE_MS)
        expect(page.locator("#charger-connectors")).to_contain_text("Ground fault", timeout=LIVE_MS)
        expect(page.locator("#charger-since")).to_contain_text(re.compile(r"\d{1,2}:\d\d"))  # faulted since
        _assert_not_reloaded(page)
        screenshot(page, "live-charger-faulted")

        # The list and the fault list follow too (another page of the same tab: one follower each).
        page.get_by_role("link", name="Faults").first.click()
        expect(page.locator("#faults")).to_contain_text("SON-CP-001", timeout=20_000)
        _mark_page(page)
        charger.run(charger.cp.ok("StatusNotification", _status(2, "Faulted", "OverCurrentFailure")))
        expect(page.locator("#faults")).to_contain_text("Overcurrent", timeout=LIVE_MS)
        _assert_not_reloaded(page)
    finally:
        charger.close()
    page.goto(f"{server['base']}/operator")
    expect(page.locator("#status-SON-CP-001")).to_have_text("Offline", timeout=20_000)
    _mark_page(page)
    charger = LiveChargePoint(server["csms_port"], "SON-CP-001", passwords["SON-CP-001"])
    try:
        expect(page.locator("#status-SON-CP-001")).not_to_have_text("Offline", timeout=LIVE_MS)
        _assert_not_reloaded(page)
    finally:
        charger.close()
    expect(page.locator("#status-SON-CP-001")).to_have_text("Offline", timeout=LIVE_MS)
