"""An operator connects a Helios network account (through the API, from the signed-in page) and watches it on
`/operator/networks`: connected with its last successful sync and session; maps the network's location to
one of their sites with the page's select (it stays chosen after a reload, and the API says so); then the
network fails, Sync now, and the page names the cause while the last success stays shown."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in


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
