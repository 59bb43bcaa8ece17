"""A 2.0.1 station's screen from the charger page: the operator sets a message (text, priority, state)
and the connected raw-JSON station receives SetDisplayMessage; Clear asks for a confirmation, Cancel
sends nothing, confirming sends ClearDisplayMessage and the list empties."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_operator_charger import LiveChargePoint

CP = "NW-CP-001"  # no other browser test connects it


def test_set_and_clear_a_display_message(page: Page, server: dict) -> None:
    passwords = {cp["id"]: cp["password"] for cp in server["demo"]["charge_points"]}
    station = LiveChargePoint(server["csms_port"], CP, passwords[CP], version="2.0.1")
    for action in ("SetDisplayMessage", "ClearDisplayMessage"):
        station.cp.responders[action] = (
            lambda a: lambda payload: (station.received.append((a, payload)), {"status": "Accepted"})[1]
        )(action)
    try:
        sign_in(page, server, "operator@northwind.demo")
        expect(page.locator("#operator-chargers")).to_be_visible(timeout=20_000)
        page.goto(f"{server['base']}/operator/chargers/{CP}")
        expect(page.locator("#charger-online")).to_have_text("Online", timeout=20_000)
        expect(page.locator("#display-messages-empty")).to_be_visible(timeout=20_000)

        page.get_by_label("Message number").fill("5")
        page.get_by_label("Text", exact=True).fill("Welcome to Denver")
        page.get_by_label("Priority").select_option("AlwaysFront")
        page.get_by_label("Show while").select_option("Idle")
        page.click("#dm-set")
        expect(page.locator("#screen-answer")).to_contain_text("Accepted", timeout=30_000)
        action, payload = station.received[-1]
        assert action == "SetDisplayMessage"
        assert payload["message"]["id"] == 5
        assert payload["message"]["priority"] == "AlwaysFront"
        assert payload["message"]["state"] == "Idle"
        assert payload["message"]["message"]["content"] == "Welcome to Denver"
        expect(page.locator("#display-messages")).to_contain_text("Welcome to Denver", timeout=10_000)
        screenshot(page, "operator-display-message")

        # Clear asks first; Cancel sends nothing.
        page.click("#dm-clear-5")
        expect(page.locator("#confirm-action")).to_be_visible()
        page.click("#confirm-cancel")
        expect(page.locator("#confirm-action")).to_be_hidden()
        assert [a for a, _ in station.received] == ["SetDisplayMessage"]
        page.click("#dm-clear-5")
        page.click("#confirm-action")
        expect(page.locator("#screen-answer")).to_contain_text("clear-display-message", timeout=30_000)
        assert station.received[-1] == ("ClearDisplayMessage", {"id": 5})
        expect(page.locator("#display-messages-empty")).to_be_visible(timeout=10_000)
    finally:
        station.close()
