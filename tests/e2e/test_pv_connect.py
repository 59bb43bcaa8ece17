"""A driver couples inverter clouds in the browser: Enphase by OAuth, SolarEdge by API key with a live test.

The fakes run on loopback (``fake_inverters`` in conftest); `pipelet run` points at them through
``<BRAND>_API_BASE``, and its embedded scheduler (a lifespan task) does the polling.
"""

from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import Browser, Page, expect

from pipelet_app.portals.driver.pv_state import PvState
from tests.e2e.conftest import forge_event, screenshot, sign_in

SYNC_TIMEOUT_MS = 60_000


def open_pv_page(page: Page, server: dict) -> None:
    sign_in(page, server, "driver@acme.demo")
    expect(page.locator("#signed-in-user")).to_be_visible(timeout=20_000)  # signed in and hydrated
    expect(page.locator("#tile-pv")).to_be_visible(timeout=20_000)
    expect(page.locator("#tile-wallbox")).to_be_visible()
    expect(page.locator("#tile-dhc")).to_be_visible()
    page.click("#tile-pv-open")
    expect(page).to_have_url(re.compile(r"/driver/pv$"))
    expect(page.locator("#brand-enphase")).to_be_visible(timeout=20_000)


def test_driver_couples_enphase_by_oauth_and_sees_its_sessions(
    page: Page, server: dict, fake_inverters: dict
) -> None:
    fake = fake_inverters["enphase"]["fake"]
    serial = fake_inverters["enphase"]["serial"]
    open_pv_page(page, server)
    page.click("#brand-enphase")  # → the fake's consent page, which approves and redirects back

    expect(page).to_have_url(re.compile(r"/driver/pv$"), timeout=30_000)
    expect(page.locator("#pv-notice")).to_contain_text("Connected")
    assert any(p == "/oauth/authorize" for p in fake.paths()), "the browser went through Enphase's consent"
    connection = page.locator("#connection-enphase")
    expect(connection).to_have_attribute("data-status", "connected", timeout=SYNC_TIMEOUT_MS)
    expect(connection).to_contain_text(serial)  # detected from the device list, never typed in
    expect(connection.locator("tbody tr")).to_have_count(5, timeout=SYNC_TIMEOUT_MS)
    expect(connection.locator("tbody")).to_contain_text("Reported by the solar system")
    screenshot(page, "pv-enphase-connected")

    page.goto(f"{server['base']}/driver")
    expect(page.locator("#driver-sessions")).to_contain_text(
        serial, timeout=20_000
    )  # beside the other sources
    screenshot(page, "driver-data-sources")

    # a forged callback (no state from this session) is refused and couples nothing
    page.goto(f"{server['base']}/driver/pv/callback?code=stolen&state=forged.state")
    expect(page.locator("#pv-notice")).to_contain_text("does not belong", timeout=20_000)

    page.click("#disconnect-enphase")
    expect(page.locator("#pv-notice")).to_contain_text("Disconnected")
    expect(page.locator("#connection-enphase")).to_have_count(0)


def test_a_wrong_api_key_saves_nothing_the_right_one_connects(
    page: Page, server: dict, fake_inverters: dict
) -> None:
    serial = fake_inverters["solaredge"]["serial"]
    open_pv_page(page, server)
    page.click("#brand-solaredge")
    page.fill("#field-api_key", "SE-WRONG-KEY-000000")
    page.click("#pv-submit")
    expect(page.locator("#pv-form-error")).to_contain_text("refused", timeout=20_000)
    expect(page.locator("#connection-solaredge")).to_have_count(0)
    screenshot(page, "pv-wrong-key")

    page.fill("#field-api_key", fake_inverters["solaredge"]["credentials"]["api_key"])
    page.click("#pv-submit")
    connection = page.locator("#connection-solaredge")
    expect(connection).to_be_visible(timeout=20_000)
    expect(connection).to_have_attribute("data-status", "connected", timeout=SYNC_TIMEOUT_MS)
    expect(connection).to_contain_text(serial)
    page.click("#disconnect-solaredge")
    expect(page.locator("#connection-solaredge")).to_have_count(0)


def forged_event(page: Page, server: dict, email: str, handler: str, payload: dict) -> str:
    """Sign in as `email`, send `PvState.<handler>` over the page's own socket; return what came back."""
    return forge_event(page, server, email, PvState, handler, payload, path="/driver/pv")


def pv_account_ids(server: dict) -> list[int]:
    path = server["env"]["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT id FROM c4_pv_accounts ORDER BY id")]


def test_forged_events_cannot_read_or_disconnect_another_drivers_inverter(
    browser: Browser, server: dict, fake_inverters: dict
) -> None:
    serial = fake_inverters["solaredge"]["serial"]
    owner = browser.new_page()
    open_pv_page(owner, server)
    owner.click("#brand-solaredge")
    owner.fill("#field-api_key", fake_inverters["solaredge"]["credentials"]["api_key"])
    owner.click("#pv-submit")
    expect(owner.locator("#connection-solaredge")).to_contain_text(serial, timeout=SYNC_TIMEOUT_MS)
    [account_id] = pv_account_ids(server)
    try:
        for intruder in ("driver@globex.demo", "fleet@acme.demo"):
            page = browser.new_page()
            frames = forged_event(page, server, intruder, "load", {})
            assert PvState.get_name() in frames or "denied" in frames, "the forged event never arrived"
            assert serial not in frames
            forged_event(page, server, intruder, "disconnect", {"account_id": str(account_id)})
            page.close()
            assert pv_account_ids(server) == [account_id], f"{intruder} disconnected another driver's account"
        control = browser.new_page()
        assert serial in forged_event(control, server, "driver@acme.demo", "load", {}), (
            "the control must see it"
        )
        control.close()
    finally:
        owner.goto(f"{server['base']}/driver/pv")
        owner.click("#disconnect-solaredge")
        expect(owner.locator("#connection-solaredge")).to_have_count(0)
