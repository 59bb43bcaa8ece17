"""An operator connects a Helios network account (through the API, from the signed-in page) and watches it on
`/operator/networks`: connected with its last successful sync and session; maps the network's location to
one of their sites with the page's select (it stays chosen after a reload, and the API says so); then the
network fails, Sync now, and the page names the cause while the last success stays shown."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Page, expect

from pipelet_app.portals.operator.network_state import NetworksState
from tests.e2e.conftest import screenshot, sign_in, tap_event_socket
from tests.e2e.test_solar_charging import _choose_locale


def _until(page: Page, selector: str, text: str, seconds: float = 90.0) -> None:
    """The page shows what was loaded; the poll runs in the background: reload until it shows ``text``."""
    deadline = time.monotonic() + seconds
    while True:
        page.reload()
        try:
            expect(page.locator(selector)).to_contain_text(text, timeout=5_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def test_operator_sees_each_integrations_state_and_cause(
    page: Page, server: dict, fake_networks: dict
) -> None:
    helios = fake_networks["helios"]
    sign_in(page, server, "operator@northwind.demo")
    expect(page.locator("#operator-sites")).to_be_visible(timeout=30_000)
    page.goto(f"{server['base']}/operator/networks")
    expect(page.locator("#networks-available")).to_contain_text("Helios", timeout=30_000)
    # the sign-in kind in words, not its id (oauth2)
    expect(page.locator("#networks-available")).to_contain_text("OAuth 2.0 (client id and secret)")

    answer = page.evaluate(
        """async (credentials) => {
            const r = await fetch('/api/v1/networks', {method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({network: 'helios', label: 'Werkhof', credentials})});
            return {status: r.status, body: await r.json()};
        }""",
        helios.credentials(),
    )
    assert answer["status"] == 201, answer
    row = f"#network-{answer['body']['id']}"
    _until(page, row, "connected")
    expect(page.locator(row)).to_contain_text("Werkhof")
    expect(page.locator(row)).to_contain_text("1")  # its one session
    assert helios.credentials()["api_key"] not in page.content()

    # the network's location "Werkhof" (S1) counts for the operator's site once chosen
    location = f"#location-{answer['body']['id']}-S1"
    expect(page.locator(location)).to_contain_text("Werkhof")
    page.click(f"#location-site-{answer['body']['id']}-S1")
    page.get_by_role("option", name="Denver Hub").click()
    _until(page, location, "Denver Hub")
    mapped = page.evaluate(
        """async (id) => {
            const r = await fetch(`/api/v1/networks/${id}/locations`, {credentials: 'same-origin'});
            return await r.json();
        }""",
        answer["body"]["id"],
    )
    assert [(m["location_id"], m["site"]) for m in mapped] == [("S1", "Denver Hub")]

    helios.inject("/api/v1/transactions", "500", times=1000)
    page.click(f"#sync-{answer['body']['id']}")
    _until(page, row, "server error (500)")
    expect(page.locator(row)).to_contain_text("network unavailable")


def test_operator_connects_a_network_with_the_form_on_a_phone_in_german(
    page: Page, server: dict, fake_networks: dict
) -> None:
    """390 px, German: the connect form refuses a missing key naming the field, then connects Helios with
    the key; the account is listed, the key input is empty again, and the key is in no frame the server
    sent and not on the page."""
    key = fake_networks["helios"].credentials()["api_key"]
    page.set_viewport_size({"width": 390, "height": 844})
    frames, _ = tap_event_socket(page)
    sign_in(page, server, "operator@sonnenstrom.demo")
    page.wait_for_url(re.compile("/operator"), timeout=20_000)
    page.goto(f"{server['base']}/operator/networks")
    _choose_locale(page, "Deutsch", "de")
    try:
        form = page.locator("#network-connect-form")
        expect(page.locator("body")).to_contain_text("Netzwerk-Konto verbinden", timeout=30_000)

        def submit(with_key: bool) -> None:
            page.click("#network-choice")
            page.get_by_role("option", name="Helios").click()
            page.fill("#network-label", "Hofladen")
            if with_key:
                page.fill("#network-api-key", key)
            page.click("#network-connect")

        submit(with_key=False)
        expect(page.locator("#networks-error")).to_contain_text(
            "API-Schlüssel: für dieses Netzwerk erforderlich", timeout=20_000
        )
        expect(page.locator("#network-choice")).to_contain_text("Helios")  # kept across the refusal
        submit(with_key=True)
        expect(page.locator("#network-connected")).to_contain_text("Verbunden: Hofladen", timeout=30_000)
        expect(page.locator("#networks-error")).to_have_count(0)
        expect(page.locator("#networks-table")).to_contain_text("Hofladen")
        expect(page.locator("#network-api-key")).to_have_value("")
        assert key not in page.content()
        assert frames and not any(key in frame for frame in frames)
        box = form.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        listed = page.evaluate(
            "async () => (await fetch('/api/v1/networks', {credentials: 'same-origin'})).json()"
        )
        assert [(a["network"], a["label"]) for a in listed] == [("helios", "Hofladen")]
        screenshot(page, "operator-networks-connect-de-390")
    finally:
        _choose_locale(page, "English", "en")


def test_operator_replaces_a_rotated_key_with_the_form(page: Page, server: dict, fake_networks: dict) -> None:
    """The key is rotated at Helios: the replace form refuses a wrong key naming the credentials, then takes
    the new one; the account keeps its id (listed once), the key input is empty again, and the key is in no
    frame the server sent and not on the page."""
    helios = fake_networks["helios"]
    old_key, new_key = helios.credentials()["api_key"], "helios-key-rotated-e2e-5150"
    frames, _ = tap_event_socket(page)
    sign_in(page, server, "operator@northwind.demo")
    expect(page.locator("#operator-sites")).to_be_visible(timeout=30_000)
    answer = page.evaluate(
        """async (credentials) => {
            const r = await fetch('/api/v1/networks', {method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({network: 'helios', label: 'Lager', credentials})});
            return {status: r.status, body: await r.json()};
        }""",
        helios.credentials(),
    )
    assert answer["status"] == 201, answer
    account_id = answer["body"]["id"]
    helios.rotate(new_key)
    try:
        page.goto(f"{server['base']}/operator/networks")
        expect(page.locator("#network-replace-form")).to_be_visible(timeout=30_000)

        page.click("#replace-account")
        page.get_by_role("option", name="Helios Lager").click()
        page.fill("#replace-api-key", "not-the-rotated-key")
        page.click("#network-replace")
        expect(page.locator("#networks-error")).to_contain_text(
            "Credentials: the network refused them", timeout=20_000
        )
        # The refusal empties the key but keeps the account: only the key is typed again.
        expect(page.locator("#replace-api-key")).to_have_value("")
        expect(page.locator("#replace-account")).to_contain_text("Helios Lager")
        page.fill("#replace-api-key", new_key)
        page.click("#network-replace")
        expect(page.locator("#network-replaced")).to_contain_text(
            "Credentials replaced: Helios Lager", timeout=30_000
        )
        expect(page.locator("#networks-error")).to_have_count(0)
        expect(page.locator("#replace-api-key")).to_have_value("")
        assert new_key not in page.content()
        assert frames and not any(new_key in frame for frame in frames)
        listed = page.evaluate(
            "async () => (await fetch('/api/v1/networks', {credentials: 'same-origin'})).json()"
        )
        lager = [a for a in listed if a["label"] == "Lager"]
        assert [a["id"] for a in lager] == [account_id] and lager[0]["status"] != "reauth-needed"
        screenshot(page, "operator-networks-replace-credentials")
    finally:
        helios.rotate(old_key)


def test_the_replace_form_on_a_phone_in_german_refuses_another_tenants_account(
    page: Page, browser: Browser, server: dict, fake_networks: dict
) -> None:
    """390 px, German: the replace form's labels are German and it fits the width; a missing key and a
    refused one are named in German (no adapter English); another tenant's account id forged into the
    page's own event answers "Nicht gefunden." and that account's key stays; the API answers 404."""
    key = fake_networks["helios"].credentials()["api_key"]
    create = """async ([label, api_key]) => {
        const r = await fetch('/api/v1/networks', {method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({network: 'helios', label, credentials: {api_key}})});
        return {status: r.status, body: await r.json()};
    }"""
    context = browser.new_context()
    try:
        north = context.new_page()
        sign_in(north, server, "operator@northwind.demo")
        expect(north.locator("#operator-sites")).to_be_visible(timeout=30_000)
        theirs = north.evaluate(create, ["Fremdlager", key])
        assert theirs["status"] == 201, theirs
    finally:
        context.close()
    page.set_viewport_size({"width": 390, "height": 844})
    frames, send = tap_event_socket(page)
    sign_in(page, server, "operator@sonnenstrom.demo")
    page.wait_for_url(re.compile("/operator"), timeout=20_000)
    mine = page.evaluate(create, ["Ersatzhof", key])
    assert mine["status"] == 201, mine
    page.goto(f"{server['base']}/operator/networks")
    _choose_locale(page, "Deutsch", "de")
    try:
        form = page.locator("#network-replace-form")
        expect(form).to_contain_text("Zugangsdaten ersetzen", timeout=30_000)
        expect(form).to_contain_text("Konto")
        expect(form).to_contain_text("API-Schlüssel (ChargePoint, Helios)")

        def submit(value: str | None) -> None:
            page.click("#replace-account")
            page.get_by_role("option", name="Helios Ersatzhof").click()
            if value is not None:
                page.fill("#replace-api-key", value)
            page.click("#network-replace")

        error = page.locator("#networks-error")
        submit(None)
        expect(error).to_contain_text("API-Schlüssel: für dieses Netzwerk erforderlich.", timeout=20_000)
        submit("not-the-key")
        expect(error).to_have_text("Zugangsdaten: vom Netzwerk abgelehnt (HTTP 401).", timeout=20_000)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths == [390, 390], widths  # no horizontal scrolling
        box = form.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        screenshot(page, "operator-networks-replace-de-390")

        forged = {"form": {"account": str(theirs["body"]["id"]), "api_key": key}}
        send(f"{NetworksState.get_full_name()}.replace_credentials", forged, "/operator/networks")
        expect(error).to_have_text("Nicht gefunden.", timeout=20_000)
        expect(page.locator("#network-replaced")).to_have_count(0)
        put = page.evaluate(
            """async ([id, api_key]) => (await fetch(`/api/v1/networks/${id}/credentials`, {method: 'PUT',
                credentials: 'same-origin', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({credentials: {api_key}})})).status""",
            [theirs["body"]["id"], key],
        )
        assert put == 404
        assert frames
    finally:
        _choose_locale(page, "English", "en")
        # the connect test lists Sonnenstrom's accounts exactly
        page.evaluate(
            "async (id) => fetch(`/api/v1/networks/${id}`, {method: 'DELETE', credentials: 'same-origin'})",
            mine["body"]["id"],
        )
