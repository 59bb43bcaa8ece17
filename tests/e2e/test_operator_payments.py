"""The operator's payments page in Chromium: at phone size it fits the screen, has one h1, touch-sized
controls and no serious axe-core violation; the filters reload the list (also from the URL), a site's
energy price is saved and the revenue table then shows the energy cost as complete for that site."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_portal_frame import PHONE, TOUCH_CONTROLS, _open, _serious


def test_payments_page_on_a_phone(browser: Browser, server: dict) -> None:
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, server, "operator@sonnenstrom.demo")
    _open(page, server, "/operator/payments")
    expect(page.locator("#revenue-table")).to_be_visible(timeout=20_000)  # the demo's priced sessions
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"the page is {width} px wide on a {inner} px screen"
    assert page.locator("h1").count() == 1
    small = [
        box["height"]
        for box in (c.bounding_box() for c in page.locator(TOUCH_CONTROLS).all())
        if box and box["height"] < 43.5
    ]
    assert not small, f"controls under 44 px on a phone: {small}"
    assert _serious(page) == []
    screenshot(page, "operator-payments-390")

    page.select_option("#payments-filter-state", "failed")
    page.click("#payments-filter-show")
    expect(page.locator("#payments-error")).to_have_count(0)

    site = page.locator("#energy-price-site option").first.text_content() or ""
    page.fill("#energy-price-value", "0.21")
    page.click("#energy-price-save")
    expect(page.locator("#payments-notice")).to_be_visible(timeout=20_000)
    row = page.locator("#revenue-table tr", has_text=site)
    if row.count():  # the site has finished sessions: its energy cost is now known
        expect(row.first).not_to_contain_text("incomplete")
    page.fill("#energy-price-value", "cheap")
    page.click("#energy-price-save")
    expect(page.locator("#payments-error")).to_contain_text("per_kwh", timeout=20_000)
    screenshot(page, "operator-payments-price-390")
