"""An operator commands a live charger from its detail page and reads the charger's own answer.

The charger is the raw-JSON test charge point of the CSMS suite, connected to the `pipelet run` under
test; the command travels web app → command bus → CSMS process → charger and back.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from pipelet_app.portals.operator.charger_state import ChargerState
from tests.e2e.conftest import screenshot, sign_in
from tests.integration.ocpp.rawcp import RawChargePoint


class LiveChargePoint:
    """A RawChargePoint on its own event loop thread, so the synchronous browser test can keep it online."""

    def __init__(
        self, csms_port: int, charge_point_id: str, password: str | None, version: str = "1.6"
    ) -> None:
        self.version = version
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.received: list[tuple[str, dict]] = []
        self.cp = RawChargePoint(
            f"ws://127.0.0.1:{csms_port}",
            charge_point_id,
            subprotocols=(f"ocpp{version}",),
            password=password,
        )

        def answer(action: str, reply: dict):
            def respond(payload: dict) -> dict:
                self.received.append((action, payload))
                return reply

            return respond

        self.cp.responders["Reset"] = answer("Reset", {"status": "Accepted"})
        self.cp.responders["TriggerMessage"] = answer("TriggerMessage", {"status": "Rejected"})
        self.cp.responders["ReserveNow"] = answer("ReserveNow", {"status": "Accepted"})
        self.run(self._start())

    async def _start(self) -> None:
        await self.cp.connect()
        if self.version == "2.0.1":
            await self.cp.boot201(vendor="Wallbox", model="Commander 2")
        else:
            await self.cp.boot16(vendor="ABB", model="Terra AC W22")

    def run(self, coro) -> object:
        future: Future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=20)

    def close(self) -> None:
        self.run(self.cp.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def charger(server: dict) -> Iterator[LiveChargePoint]:
    passwords = {cp["id"]: cp["password"] for cp in server["demo"]["charge_points"]}
    live = LiveChargePoint(server["csms_port"], "SON-CP-002", passwords["SON-CP-002"])
    yield live
    live.close()


def test_operator_resets_a_live_charger_and_sees_its_answer(
    page: Page, server: dict, charger: LiveChargePoint
) -> None:
    sign_in(page, server, "operator@sonnenstrom.demo")
    expect(page.locator("#operator-chargers")).to_contain_text("SON-CP-002", timeout=20_000)
    page.get_by_role("link", name="SON-CP-002").click()
    expect(page).to_have_url(re.compile("/operator/chargers/SON-CP-002$"), timeout=20_000)
    expect(page.locator("#charger-online")).to_have_text("Online", timeout=20_000)

    page.get_by_role("button", name="Soft reset").click()
    expect(page.locator("#command-answer")).to_have_text('reset: {"status": "Accepted"}', timeout=30_000)
    assert charger.received[-1] == ("Reset", {"type": "Soft"})
    expect(page.locator("#charger-messages")).to_contain_text("Reset", timeout=20_000)
    expect(page.locator("#charger-messages")).to_contain_text("to the charger")  # its direction in words

    page.fill("#command-name", "trigger-message")
    page.fill("#command-payload", "{not json")
    page.click("#command-send")
    expect(page.locator("#command-error")).to_contain_text("payload: not JSON", timeout=20_000)
    page.fill("#command-payload", json.dumps({"requestedMessage": "Heartbeat"}))
    page.click("#command-send")
    expect(page.locator("#command-answer")).to_have_text(
        'trigger-message: {"status": "Rejected"}', timeout=30_000
    )

    # A reservation the charger accepted shows in the reservations table; uptime shows this month.
    expiry = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    page.fill("#command-name", "reserve-now")
    page.fill("#command-payload", json.dumps({"connectorId": 1, "idTag": "ACME0001", "expiryDate": expiry}))
    page.click("#command-send")
    expect(page.locator("#command-answer")).to_have_text(
        'reserve-now: {"status": "Accepted"}', timeout=30_000
    )
    expect(page.locator("#charger-reservations")).to_contain_text("ACME0001", timeout=20_000)
    expect(page.locator("#charger-reservations")).to_contain_text("Active")
    expect(page.locator("#charger-uptime")).to_contain_text(datetime.now(UTC).strftime("%Y-%m"))
    screenshot(page, "operator-charger")


def test_another_operator_cannot_see_it(page: Page, server: dict, charger: LiveChargePoint) -> None:
    sign_in(page, server, "operator@northwind.demo")
    expect(page.locator("#operator-chargers")).to_contain_text("NW-CP-001", timeout=20_000)
    page.goto(f"{server['base']}/operator/chargers/SON-CP-002")
    expect(page.locator("#denied")).to_be_visible(timeout=20_000)
    expect(page.locator("body")).not_to_contain_text("Terra AC W22")


@pytest.mark.parametrize(
    ("email", "reaches"), [("operator@northwind.demo", False), ("operator@sonnenstrom.demo", True)]
)
def test_forged_command_event_reaches_the_charger_only_for_its_operator(
    page: Page, server: dict, charger: LiveChargePoint, email: str, reaches: bool
) -> None:
    """The send handler checks the tenant itself; the owner's identical frame is the control."""
    sockets: dict = {}

    def route(ws) -> None:
        upstream = ws.connect_to_server()
        sockets["up"] = upstream
        ws.on_message(upstream.send)
        upstream.on_message(ws.send)

    page.route_web_socket(re.compile("/_event"), route)
    sign_in(page, server, email)
    expect(page.locator("#operator-chargers")).to_be_visible(timeout=20_000)
    page.goto(f"{server['base']}/operator/chargers/SON-CP-002")
    expect(page.locator("#page-title")).to_be_visible(timeout=20_000)
    page.wait_for_timeout(500)
    before = len(charger.received)
    path = "/operator/chargers/SON-CP-002"
    event = {
        "name": f"{ChargerState.get_full_name()}.send",
        "payload": {"name": "reset", "payload_text": '{"type": "Hard"}'},
        "router_data": {"pathname": path, "query": {"cp_id": "SON-CP-002"}, "asPath": path},
    }
    sockets["up"].send("42/_event," + json.dumps(["event", event]))
    page.wait_for_timeout(3_000)
    sent = charger.received[before:]
    assert sent == ([("Reset", {"type": "Hard"})] if reaches else [])


def _held_session(server: dict, charger: LiveChargePoint) -> str:
    """A 40-second session of 299,763 Wh, sent by the live charger: the CSMS holds it for review."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    begin = {"connectorId": 1, "idTag": "ACME0001", "meterStart": 1_000, "timestamp": start.strftime(iso)}
    tx = charger.run(charger.cp.ok("StartTransaction", begin))["transactionId"]  # type: ignore[index]
    end = (start + timedelta(seconds=40)).strftime(iso)
    charger.run(
        charger.cp.ok("StopTransaction", {"transactionId": tx, "meterStop": 300_763, "timestamp": end})
    )
    return f"ocpp16:SON-CP-002:{tx}"


def _review_event(handler: str, payload: dict) -> dict:
    """A ChargerState.<handler> event for the charger page, as a tampered client would send it."""
    path = "/operator/chargers/SON-CP-002"
    return {
        "name": f"{ChargerState.get_full_name()}.{handler}",
        "payload": payload,
        "router_data": {"pathname": path, "query": {"cp_id": "SON-CP-002"}, "asPath": path},
    }


def test_operator_sees_a_held_session_and_confirms_it_only_for_own_charger(
    page: Page, server: dict, charger: LiveChargePoint
) -> None:
    tx = _held_session(server, charger)
    sockets: dict = {}

    def route(ws) -> None:
        upstream = ws.connect_to_server()
        sockets["up"] = upstream
        ws.on_message(upstream.send)
        upstream.on_message(ws.send)

    # Another operator forges the confirm event for this session: nothing changes.
    page.route_web_socket(re.compile("/_event"), route)
    sign_in(page, server, "operator@northwind.demo")
    expect(page.locator("#operator-chargers")).to_be_visible(timeout=20_000)
    page.goto(f"{server['base']}/operator/chargers/SON-CP-002")
    expect(page.locator("#page-title")).to_be_visible(timeout=20_000)
    page.wait_for_timeout(500)
    forged = _review_event("confirm_session", {"transaction_id": tx})
    sockets["up"].send("42/_event," + json.dumps(["event", forged]))
    page.wait_for_timeout(3_000)
    page.context.clear_cookies()

    sign_in(page, server, "operator@sonnenstrom.demo")
    expect(page.locator("#operator-chargers")).to_contain_text("SON-CP-002", timeout=20_000)
    page.goto(f"{server['base']}/operator/chargers/SON-CP-002")
    held = page.locator("#charger-sessions .session-row.held")
    expect(held).to_have_count(1, timeout=20_000)  # the forged confirm did not release it
    expect(held).to_contain_text("energy_exceeds_max_power")
    expect(held).to_contain_text("299.8")
    screenshot(page, "operator-charger-held-session")

    # A correction in kWh that is not a number is refused, naming the field.
    held.locator(".session-correct-kwh input, input.session-correct-kwh").first.fill("lots")
    held.get_by_role("button", name="Correct").click()
    expect(page.locator("#command-error")).to_contain_text("energy_kwh", timeout=20_000)

    held.get_by_role("button", name="Confirm").click()
    expect(page.locator("#charger-sessions .session-row.held")).to_have_count(0, timeout=20_000)
    expect(page.locator("#charger-sessions")).to_contain_text("energy_exceeds_max_power")


def _admitted(server: dict, charge_point_id: str, password: str | None) -> int:
    """101 when the CSMS of the `pipelet run` under test lets this password in, else its HTTP status."""
    from websockets.exceptions import InvalidStatus

    async def attempt() -> int:
        cp = RawChargePoint(f"ws://127.0.0.1:{server['csms_port']}", charge_point_id, password=password)
        try:
            await cp.connect()
        except InvalidStatus as exc:
            return exc.response.status_code
        await cp.close()
        return 101

    # Playwright's sync API owns this thread's event loop: run the attempt on a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, attempt()).result(timeout=30)


CHARGER = "NW-CP-002"  # the rotation test's: no other browser test connects it with its demo password


def test_operator_rotates_a_password_shown_once_and_sees_the_no_auth_warning(
    page: Page, server: dict
) -> None:
    demo_password = {cp["id"]: cp["password"] for cp in server["demo"]["charge_points"]}[CHARGER]
    page.goto(f"{server['base']}/login")
    expect(page.locator("#login-demo-notice")).to_contain_text("demo installation", timeout=20_000)
    sign_in(page, server, "operator@northwind.demo")
    expect(page.locator("#operator-chargers")).to_contain_text(CHARGER, timeout=20_000)
    page.goto(f"{server['base']}/operator/chargers/{CHARGER}")
    expect(page.locator("#page-title")).to_be_visible(timeout=20_000)
    expect(page.locator("body")).to_contain_text("HTTP Basic password", timeout=20_000)
    expect(page.locator("#charger-auth-warning")).to_have_count(0)
    expect(page.locator("#new-password-box")).to_be_hidden()

    page.click("#charger-rotate-password")
    expect(page.get_by_role("alertdialog")).to_be_visible()  # the old password dies at once: asked first
    page.click("#confirm-action")
    expect(page.locator("#new-password-box")).to_be_visible(timeout=20_000)
    new_password = page.locator("#new-password").inner_text()
    assert len(new_password) >= 16 and new_password != demo_password
    assert _admitted(server, CHARGER, new_password) == 101
    assert _admitted(server, CHARGER, demo_password) == 401
    page.reload()
    expect(page.locator("body")).to_contain_text("HTTP Basic password", timeout=20_000)
    assert new_password not in page.content()  # shown once: not in any state the page reloads

    page.click("#charger-allow-no-auth")
    expect(page.locator("#charger-auth-warning")).to_contain_text("No authentication", timeout=20_000)
    screenshot(page, "operator-charger-no-auth")
    assert _admitted(server, CHARGER, None) == 101
    page.click("#charger-require-password")
    expect(page.locator("#charger-auth-warning")).to_have_count(0, timeout=20_000)
    assert _admitted(server, CHARGER, None) == 401
