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
    expect(page.locator("#charger-online")).to_have_text("Offline")
    _mark_page(page)

    charger = LiveChargePoint(server["csms_port"], "SON-CP-001", passwords["SON-CP-001"])
    try:
        charger.run(charger.cp.ok("StatusNotification", _status(1, "Available")))
        expect(page.locator("#charger-online")).to_have_text("Online", timeout=LIVE_MS)
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


def _meter(transaction_id: int, register_wh: int, power_w: int) -> dict:
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [
            {
                "timestamp": _now(),
                "sampledValue": [
                    {"value": str(register_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": str(power_w), "measurand": "Power.Active.Import", "unit": "W"},
                ],
            }
        ],
    }


def test_driver_pages_follow_the_running_session_without_reload(page: Page, server: dict) -> None:
    """The driver's own running session (card ACME0001 is Dana's): it appears, then its energy and power
    move with the charger's MeterValues on the overview and on its detail page, pushed, not reloaded."""
    passwords = {cp["id"]: cp["password"] for cp in server["demo"]["charge_points"]}
    sign_in(page, server, "driver@acme.demo")
    expect(page.locator("#page-title")).to_be_visible(timeout=20_000)
    expect(page.locator("#driver-sessions")).to_be_attached(timeout=20_000)
    page.wait_for_timeout(1_000)
    _mark_page(page)
    charger = LiveChargePoint(server["csms_port"], "SON-CP-001", passwords["SON-CP-001"])
    try:
        charger.run(charger.cp.ok("StatusNotification", _status(1, "Available")))
        started = charger.run(
            charger.cp.ok(
                "StartTransaction",
                {"connectorId": 1, "idTag": "ACME0001", "meterStart": 2_000_000, "timestamp": _now()},
            )
        )
        tx = started["transactionId"]
        charger.run(charger.cp.ok("StatusNotification", _status(1, "Charging")))
        energy, power = page.locator(".running-energy").first, page.locator(".running-power").first
        expect(energy).to_have_text("0.0 kWh", timeout=LIVE_MS)  # the new session appeared by itself
        charger.run(charger.cp.ok("MeterValues", _meter(tx, 2_003_000, 7_400)))
        expect(energy).to_have_text("3.0 kWh", timeout=LIVE_MS)
        expect(power).to_have_text("7.4 kW", timeout=LIVE_MS)
        _assert_not_reloaded(page)
        screenshot(page, "live-driver-running")

        # Its detail page (the newest row of the sessions table) follows the same meter.
        page.locator("#driver-sessions .session-link").first.click()
        expect(page.locator("#session-energy")).to_have_text("3.0 kWh", timeout=20_000)
        _mark_page(page)
        charger.run(charger.cp.ok("MeterValues", _meter(tx, 2_005_500, 11_000)))
        expect(page.locator("#session-energy")).to_have_text("5.5 kWh", timeout=LIVE_MS)
        expect(page.locator("#session-power")).to_have_text("11.0 kW", timeout=LIVE_MS)
        _assert_not_reloaded(page)
        charger.run(
            charger.cp.ok(
                "StopTransaction", {"transactionId": tx, "meterStop": 2_006_000, "timestamp": _now()}
            )
        )
        expect(page.locator("#session-energy")).to_have_text("6.0 kWh", timeout=LIVE_MS)
        expect(page.locator("#session-power")).to_have_count(0, timeout=LIVE_MS)  # ended: no power now
        _assert_not_reloaded(page)
    finally:
        charger.close()
