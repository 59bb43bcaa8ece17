"""An operator creates a site in the browser, adds its devices, issues its gateway's MQTT password (shown
once), and sees the energy a PV meter reports over MQTT (real Mosquitto on 127.0.0.1:1883 → the consumer
inside `pipelet run` → the page); another operator is refused the page."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import aiomqtt
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot, sign_in
from tests.integration.api_keys import key_for


def gateway_login(base: str, site_id: int, operator: str = "operator@sonnenstrom.demo") -> tuple[str, str]:
    """A site's broker login as its operator gets one over the API (the database must be the server's:
    the key is made there)."""
    request = urllib.request.Request(
        f"{base}/api/v1/sites/{site_id}/mqtt-credentials",
        method="POST",
        headers={"Authorization": f"Bearer {key_for(operator)}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        issued = json.loads(response.read())
    assert issued["client_id"] == issued["username"], issued  # what `_publish` connects with
    return issued["username"], issued["password"]


def _publish(topic: str, bodies: list[dict], login: tuple[str, str]) -> None:
    """As the site's gateway, with the login its page issued: the embedded broker of `pipelet run` takes
    nothing else (a shared broker on 1883 without a password file ignores it)."""

    async def main() -> None:
        user, password = login
        # A site's login may connect with its own client id only (its user name; the API's client_id).
        async with aiomqtt.Client(
            "127.0.0.1", 1883, username=user, password=password, identifier=user
        ) as client:
            for body in bodies:
                await client.publish(topic, json.dumps(body).encode(), qos=1)

    # Playwright's sync API runs an event loop on this thread: publish from another one.
    worker = threading.Thread(target=asyncio.run, args=(main(),))
    worker.start()
    worker.join(30)


def test_operator_creates_a_site_with_devices_and_sees_its_energy(page: Page, server: dict) -> None:
    sign_in(page, server, "operator@sonnenstrom.demo")
    expect(page.locator("#operator-sites")).to_contain_text("Depot München", timeout=20_000)
    page.click("#new-site")
    expect(page).to_have_url(re.compile("/operator/sites/new$"), timeout=20_000)
    page.fill("#site-name", "Hof Sonnenberg")
    page.fill("#site-timezone", "Europe/Berlin")
    page.fill("#site-latitude", "north")
    page.click("#site-save")
    expect(page.locator("#site-error")).to_contain_text("latitude:", timeout=20_000)
    page.fill("#site-latitude", "48.1")
    page.fill("#site-grid_limit_a", "63")
    page.click("#site-save")
    expect(page).to_have_url(re.compile(r"/operator/sites/\d+$"), timeout=20_000)
    site_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#page-title")).to_have_text("Hof Sonnenberg", timeout=20_000)
    expect(page.locator("#site-topic-measurements")).to_have_text(f"pipelet/sites/{site_id}/measurements")

    # The gateway's broker login: a password issued here, after a confirmation, shown once. This
    # server's broker is the shared one on 1883 (no MQTT_ADMIN_URL): stored, applied by mqtt-acl.
    expect(page.locator("#site-mqtt-user")).to_have_text(f"site-{site_id}")
    expect(page.locator("#site-mqtt-client-id")).to_have_text(f"site-{site_id}")
    expect(page.locator("#site-mqtt-issued")).to_have_text("no password issued yet")
    expect(page.locator("#new-password-box")).to_be_hidden()
    page.click("#site-mqtt-issue")
    page.click("#confirm-action")  # the old password would stop working: asked once more
    expect(page.locator("#new-password-box")).to_be_visible(timeout=20_000)
    expect(page.locator("#new-password")).to_have_text(re.compile(r"^[A-Za-z0-9_-]{32}$"), timeout=20_000)
    expect(page.locator("#site-mqtt-pending")).to_contain_text("pipelet mqtt-acl")
    expect(page.locator("#site-mqtt-issued")).to_contain_text("password issued")
    first = page.locator("#new-password").inner_text()
    page.reload()
    expect(page.locator("#site-mqtt-issued")).to_contain_text("password issued", timeout=20_000)
    expect(page.locator("#new-password-box")).to_be_hidden()  # shown once: gone on reload
    expect(page.locator("body")).not_to_contain_text(first)

    pv = f"pv-{uuid.uuid4().hex[:8]}"
    page.fill("#device-asset", pv)
    page.click("#device-add")
    expect(page.locator("#site-devices")).to_contain_text(pv, timeout=20_000)
    page.fill("#device-asset", "cp")
    page.fill("#device-cp", "SON-CP-001")
    page.fill("#device-connector", "1")
    page.click("#device-add")
    expect(page.locator("#site-error")).to_contain_text("devices[1].", timeout=20_000)

    # Ten minutes of 6 kW from the roof = 1 kWh, through the broker and the embedded consumer.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    bodies = [
        {
            "assetId": pv,
            "timestamp": (now - timedelta(minutes=11 - m)).isoformat(),
            "energyValue": 100.0 * m,
            "powerValue": 6000.0,
        }
        for m in range(10)
    ]
    _publish(f"pipelet/sites/{site_id}/measurements", bodies, (f"site-{site_id}", first))
    for _ in range(20):
        page.reload()
        energy = page.locator("#site-energy")
        expect(energy).to_be_visible(timeout=20_000)
        if "1.00" in energy.inner_text():
            break
        page.wait_for_timeout(1000)
    expect(page.locator("#site-energy")).to_contain_text("1.00")
    screenshot(page, "operator-site")

    page.click("#logout")
    sign_in(page, server, "operator@northwind.demo")
    expect(page.locator("#operator-sites")).to_contain_text("Denver Hub", timeout=20_000)
    page.goto(f"{server['base']}/operator/sites/{site_id}")
    expect(page.locator("#denied")).to_be_visible(timeout=20_000)
    expect(page.locator("body")).not_to_contain_text("Hof Sonnenberg")


def test_operator_edits_a_site_and_its_devices_on_a_phone_in_german(page: Page, server: dict) -> None:
    """390 px, German: the form shows decimals with a comma (48,1405, not 48.1405) and takes them back;
    an MQTT-only charger and a sub-meter (kind `load`) are added, chosen and listed by their German names
    (Ladepunkt, Anderer Verbraucher; never the ids `charger`, `load`); nothing sticks out of the page."""
    from tests.e2e.test_solar_charging import _choose_locale

    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server, "operator@sonnenstrom.demo")
    page.wait_for_url(re.compile("/operator"), timeout=20_000)
    page.goto(f"{server['base']}/operator/sites/new")
    _choose_locale(page, "Deutsch", "de")
    try:
        page.fill("#site-name", "Hof am Hang")
        page.fill("#site-timezone", "Europe/Berlin")
        page.fill("#site-latitude", "48,1405")
        page.fill("#site-grid_limit_a", "40,5")
        page.click("#site-save")
        expect(page).to_have_url(re.compile(r"/operator/sites/\d+$"), timeout=20_000)
        site_id = int(page.url.rsplit("/", 1)[1])
        expect(page.locator("#site-topic-transactions")).to_have_text(
            f"pipelet/sites/{site_id}/transactions", timeout=20_000
        )
        page.reload()
        expect(page.locator("#site-latitude")).to_have_value("48,1405", timeout=20_000)
        expect(page.locator("#site-grid_limit_a")).to_have_value("40,5")
        page.fill("#site-latitude", "48,25")
        page.click("#site-save")
        expect(page.locator("#site-saved")).to_be_visible(timeout=20_000)
        for asset, kind in ((f"wb-mqtt-{site_id}", "Ladepunkt"), (f"sub-{site_id}", "Anderer Verbraucher")):
            page.fill("#device-asset", asset)
            page.click("#device-kind")
            page.get_by_role("option", name=kind, exact=True).click()
            if kind == "Ladepunkt":  # charger and car can switch between 1 and 3 phases
                page.get_by_role("checkbox", name="1p/3p-Umschaltung").click()
            page.click("#device-add")
            expect(page.locator("#site-devices")).to_contain_text(asset, timeout=20_000)
        page.reload()
        expect(page.locator("#site-latitude")).to_have_value("48,25", timeout=20_000)
        devices = page.locator("#site-devices")
        expect(devices).to_contain_text(f"wb-mqtt-{site_id}")
        expect(devices).to_contain_text(f"sub-{site_id}")
        kinds = devices.locator("tbody tr td:nth-child(2)")
        expect(kinds).to_have_text(["Ladepunkt", "Anderer Verbraucher"])
        expect(devices.locator("tbody tr td:nth-child(5)")).to_have_text(["ja", ""])
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "operator-site-de-390")
    finally:
        _choose_locale(page, "English", "en")
