"""The frame every page shares (portals/layout.py), tried as people open it: every role's pages at phone
(390 x 844) and desktop (1366 x 850) size: no sideways scrolling, Sign out and the language reachable, one
`<h1>`, touch-sized controls, no serious or critical axe-core violation; confirmations before
irreversible actions; a real 404 page and a favicon."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import screenshot, sign_in

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 850}
PAGES = {
    "driver@acme.demo": ["/driver", "/driver/pv", "/account/api-keys"],
    "fleet@acme.demo": ["/fleet", "/fleet/reimbursement", "/fleet/import"],
    "operator@sonnenstrom.demo": [
        "/operator",
        "/operator/chargers/SON-CP-001",
        "/operator/faults",
        "/operator/spvs",
        "/operator/claim",
        "/operator/customers",
        "/operator/tokens",
        "/operator/notifications",
        "/operator/networks",
    ],
    "investor@pipelet.demo": ["/investor"],
    "admin@pipelet.demo": ["/admin", "/admin/system"],
}
TOUCH_CONTROLS = ".pl-main .rt-Button:visible, .pl-main .rt-SelectTrigger:visible, .pl-main input:visible"


def _open(page: Page, server: dict, path: str) -> None:
    page.goto(f"{server['base']}{path}")
    expect(page.locator("#page-title")).to_be_visible(timeout=20_000)
    expect(page.locator("#signed-in-user")).to_be_attached(timeout=20_000)
    page.wait_for_timeout(800)  # the page's data has arrived and laid out


def _serious(page: Page) -> list[str]:
    result = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
        for v in result.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("email", list(PAGES))
def test_every_page_fits_the_screen_and_keeps_sign_out_reachable(
    browser: Browser, server: dict, email: str, size: dict
) -> None:
    page = browser.new_context(viewport=size).new_page()
    sign_in(page, server, email)
    for path in PAGES[email]:
        _open(page, server, path)
        width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= inner, f"{path} is {width} px wide on a {inner} px screen"
        assert page.locator("h1").count() == 1, f"{path}: one <h1> per page"
        if size is PHONE:
            small = [
                box["height"]
                for box in (c.bounding_box() for c in page.locator(TOUCH_CONTROLS).all())
                if box and box["height"] < 43.5
            ]
            assert not small, f"{path}: controls under 44 px on a phone: {small}"
    screenshot(page, f"frame-{PAGES[email][0].strip('/')}-{size['width']}")
    if size is PHONE:
        # Folded behind the menu button, one tap away.
        expect(page.locator("#logout")).to_be_hidden()
        page.click("#menu-toggle")
        expect(page.locator("#menu-toggle")).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#locale-select")).to_be_visible()
        screenshot(page, f"frame-menu-{PAGES[email][0].strip('/')}")
    expect(page.locator("#logout")).to_be_visible()
    page.click("#logout")
    expect(page.locator("#login-submit")).to_be_visible(timeout=20_000)


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("email", list(PAGES))
def test_main_pages_have_no_serious_accessibility_violation(
    browser: Browser, server: dict, email: str, size: dict
) -> None:
    page = browser.new_context(viewport=size).new_page()
    sign_in(page, server, email)
    for path in PAGES[email][:2]:
        _open(page, server, path)
        assert _serious(page) == [], path


def test_sign_in_page_is_accessible_and_fits_a_phone(browser: Browser, server: dict) -> None:
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{server['base']}/login")
    expect(page.locator("#login-submit")).to_be_visible(timeout=20_000)
    page.wait_for_timeout(500)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    expect(page.get_by_label("E-mail")).to_be_visible()  # a label, not a placeholder
    assert _serious(page) == []


def test_irreversible_action_waits_for_confirmation(page: Page, server: dict) -> None:
    """Advancing an SPV: the first click only asks; Cancel changes nothing; the confirmation does it."""
    sign_in(page, server, "operator@sonnenstrom.demo")
    _open(page, server, "/operator/spvs")
    row = page.locator("#spv-list tbody tr").filter(has=page.locator("button[id^='advance-']")).first
    advance = row.locator("button[id^='advance-']")
    expect(advance).to_be_visible(timeout=20_000)
    phase = row.locator(".rt-Badge").inner_text()
    advance.click()
    expect(page.get_by_role("alertdialog")).to_be_visible()
    page.click("#confirm-cancel")
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    page.wait_for_timeout(1_000)
    expect(row.locator(".rt-Badge")).to_have_text(phase)


def test_unknown_address_shows_a_real_404_page(page: Page, server: dict) -> None:
    sign_in(page, server, "driver@acme.demo")
    expect(page.locator("#signed-in-user")).to_be_attached(timeout=20_000)
    page.goto(f"{server['base']}/no/such/page")
    expect(page.locator("#not-found")).to_be_visible(timeout=20_000)
    expect(page.locator("h1")).to_have_text("Page not found")
    expect(page.locator("#logout")).to_be_visible(timeout=20_000)  # still signed in, the way home is there
    page.click("#not-found-home")
    expect(page).to_have_url(f"{server['base']}/driver", timeout=20_000)


def test_favicon_is_served_and_linked(page: Page, server: dict) -> None:
    page.goto(f"{server['base']}/login")
    href = page.locator("link[rel='icon']").first.get_attribute("href")
    assert href
    icon = page.request.get(f"{server['base']}{href}")
    assert icon.status == 200 and b"<svg" in icon.body()
    assert page.request.get(f"{server['base']}/favicon.ico").status == 200


def test_german_pages_write_german_numbers_and_say_lang_de(browser: Browser, server: dict) -> None:
    """The language choice reaches `<html lang>` and every number the server formats (babel)."""
    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(page, server, "fleet@acme.demo")
    _open(page, server, "/fleet")
    expect(page.locator("#total-all")).to_have_text(re.compile(r"^\d{1,3}(,\d{3})*\.\d kWh$"), timeout=20_000)
    assert page.evaluate("document.documentElement.lang") == "en"
    page.click("#locale-select")
    page.get_by_role("option", name="Deutsch").click()
    expect(page.locator("#page-title")).to_have_text("Flottenübersicht", timeout=20_000)
    expect(page.locator("html")).to_have_attribute("lang", "de", timeout=20_000)
    # 1.472,8 kWh: the German thousands point and decimal comma, after the page reloaded its data
    expect(page.locator("#total-all")).to_have_text(re.compile(r"^\d{1,3}(\.\d{3})*,\d kWh$"), timeout=20_000)
    expect(page.locator("#fleet-drivers")).to_contain_text(re.compile(r"\d,\d"))
    screenshot(page, "frame-fleet-de")
    _open(page, server, "/fleet/reimbursement")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.click("#locale-select")
    page.get_by_role("option", name="English").click()  # the account keeps the choice: set it back
    expect(page.locator("html")).to_have_attribute("lang", "en", timeout=20_000)


def test_an_empty_list_says_what_to_do_next(page: Page, server: dict) -> None:
    """Nobody in the suite creates API keys as the investor: the list is empty and says how to fill it."""
    sign_in(page, server, "investor@pipelet.demo")
    _open(page, server, "/account/api-keys")
    expect(page.locator(".pl-empty")).to_contain_text("Create one above", timeout=20_000)
    page.fill("#key-name", "frame test")
    page.click("#key-create")
    expect(page.locator("#api-keys tbody tr")).to_have_count(1, timeout=20_000)
    expect(page.locator(".pl-empty")).to_have_count(0)
