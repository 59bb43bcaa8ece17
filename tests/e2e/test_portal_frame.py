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
# A page whose address holds an id is reached the way a person reaches it: "first:<page>|<link selector>"
# opens <page> and follows the first such link (a session, a site, a driver of the demo data); more
# selectors after further `|` are followed in turn (a site, then its solar-charging page).
PAGES = {
    "driver@acme.demo": [
        "/driver",
        "first:/driver|#driver-sessions a.session-link",
        "/driver/pv",
        "/account/api-keys",
    ],
    "fleet@acme.demo": [
        "/fleet",
        "first:/fleet|#fleet-drivers a[href^='/fleet/drivers/']",
        "/fleet/reimbursement",
        "/fleet/import",
    ],
    "operator@sonnenstrom.demo": [
        "/operator",
        "/operator/chargers/SON-CP-001",
        "first:/operator|#operator-sites a[href^='/operator/sites/']",
        "/operator/sites/new",
        "/operator/faults",
        "/operator/spvs",
        "/operator/claim",
        "/operator/customers",
        "/operator/tokens",
        "/operator/notifications",
        "/operator/networks",
        "/operator/reports",
        "first:/operator|#operator-sites a[href^='/operator/sites/']|#site-surplus",
    ],
    "investor@pipelet.demo": ["/investor", "/account/api-keys"],
    "admin@pipelet.demo": ["/admin", "/admin/system"],
}
# Pages anyone may open: sign-in, forgotten password, a reset link (an unknown one: its error state), the
# pay page a QR code on a charger leads to.
PUBLIC_PAGES = ["/login", "/forgot-password", "/reset-password/not-a-real-token", "/pay/SON-CP-003/1"]
TOUCH_CONTROLS = ".pl-main .rt-Button:visible, .pl-main .rt-SelectTrigger:visible, .pl-main input:visible"


def _open(page: Page, server: dict, path: str) -> str:
    """Open a page (or follow a "first:" entry to it), wait until its data is laid out; its address."""
    if path.startswith("first:"):
        start, *selectors = path.removeprefix("first:").split("|")
        for selector in selectors:
            _open(page, server, start)
            link = page.locator(selector).first
            expect(link).to_be_attached(timeout=20_000)
            href = link.get_attribute("href") or ""
            assert href.startswith("/"), f"{selector} on {start} links to {href!r}"
            start = href
        path = start
    page.goto(f"{server['base']}{path}")
    expect(page.locator("#page-title")).to_be_visible(timeout=20_000)
    expect(page.locator("#signed-in-user")).to_be_attached(timeout=20_000)
    page.wait_for_timeout(800)  # the page's data has arrived and laid out
    return path


def _fits(page: Page, path: str) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{path} is {width} px wide on a {inner} px screen"


def _serious(page: Page) -> list[str]:
    result = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
        for v in result.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("email", list(PAGES))
def test_every_page_fits_the_screen_passes_axe_and_keeps_sign_out_reachable(
    browser: Browser, server: dict, email: str, size: dict
) -> None:
    page = browser.new_context(viewport=size).new_page()
    sign_in(page, server, email)
    for entry in PAGES[email]:
        path = _open(page, server, entry)
        _fits(page, path)
        assert page.locator("h1").count() == 1, f"{path}: one <h1> per page"
        assert _serious(page) == [], path
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
def test_public_pages_fit_the_screen_and_pass_axe(browser: Browser, server: dict, size: dict) -> None:
    page = browser.new_context(viewport=size).new_page()
    for path in PUBLIC_PAGES:
        page.goto(f"{server['base']}{path}")
        expect(page.locator("h1")).to_have_count(1, timeout=20_000)
        page.wait_for_timeout(800)
        _fits(page, path)
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


# What a German page must never show: English grouping (1,490.8), an English decimal before a unit
# (3.5 kWh, 42.37 %), an English date-time (2026-12-05 07:52), or a currency code where German writes
# the symbol (0.00 EUR, USD). German's own 1.490 kWh (three digits after the point) is fine.
ENGLISH_FORMAT = re.compile(
    r"\d,\d{3}\.\d|\b\d+\.\d{1,2} ?(?:kWh|kW|%|h|€|\$)(?!\w)"
    r"|\b\d{4}-\d\d-\d\d \d\d:\d\d|\d EUR\b|\bUSD\b|\$\d"
)


# Codes a German page shows in words: per page, (selector, the German words one of which it must show).
# The SPV console's phase and return status (`operations`, `released`), the investor's partner kind (LP)
# and MACRS convention (HY), the system page's probe status (ok): the words, never the code.
GERMAN_WORDS = {
    "/operator/spvs": [
        ("#spv-list .rt-Badge", re.compile(r"^(Akquise|Strukturierung|Bau|Betrieb|Ausstieg)$")),
        ("#spv-years .rt-Badge", re.compile(r"^(Entwurf|Freigegeben|Eingereicht)$")),
        ("#spv-steps", re.compile(r"Betrieb")),
        ("#spv-audit", re.compile(r"Entwurf → Freigegeben")),
    ],
    "/investor": [
        ("#investor-partnerships", re.compile(r"Kommanditist \(LP\)")),
        ("#investor-depreciation", re.compile(r"\d J\., (Halbjahr|Quartalsmitte \(Q[1-4]\))")),
    ],
    "/admin/system": [("#diag-facts", re.compile(r"in Ordnung"))],
}


def _choose_language(page: Page, name: str, lang: str) -> None:
    """Pick the language; the page reloads itself to format its figures anew: wait for that reload, so
    the next navigation is not cut short by it."""
    page.click("#locale-select")
    with page.expect_navigation(timeout=20_000):
        page.get_by_role("option", name=name).click()
    expect(page.locator("html")).to_have_attribute("lang", lang, timeout=20_000)
    expect(page.locator("#signed-in-user")).to_be_attached(timeout=20_000)


@pytest.mark.parametrize("email", list(PAGES))
def test_every_page_in_german_says_lang_de_and_writes_no_english_number(
    browser: Browser, server: dict, email: str
) -> None:
    """Every page of the role, in German: `<html lang="de">` and not one English-formatted number, amount
    or date-time in the page's main area (what the server formats, babel, and what the pages add)."""
    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(page, server, email)
    _open(page, server, PAGES[email][0])
    _choose_language(page, "Deutsch", "de")
    try:
        for entry in PAGES[email]:
            path = _open(page, server, entry)
            expect(page.locator("html")).to_have_attribute("lang", "de")
            text = page.locator(".pl-main").inner_text()
            if entry == PAGES[email][0]:  # the role's first page has figures: the check has something to read
                assert re.search(r"\d", text), f"{path}: no figures at all (did the data load?)"
            found = [m.group(0) for m in ENGLISH_FORMAT.finditer(text)]
            assert not found, f"{path}: English formats on a German page: {found[:6]}"
            for selector, words in GERMAN_WORDS.get(entry, []):
                expect(page.locator(selector).first).to_have_text(words)
        screenshot(page, f"german-{PAGES[email][0].strip('/')}")
    finally:
        _choose_language(page, "English", "en")  # the account keeps the choice: set it back


def test_an_empty_list_says_what_to_do_next(page: Page, server: dict) -> None:
    """Nobody in the suite creates API keys as the investor: the list is empty and says how to fill it."""
    sign_in(page, server, "investor@pipelet.demo")
    _open(page, server, "/account/api-keys")
    expect(page.locator(".pl-empty")).to_contain_text("Create one above", timeout=20_000)
    page.fill("#key-name", "frame test")
    page.click("#key-create")
    expect(page.locator("#api-keys tbody tr")).to_have_count(1, timeout=20_000)
    expect(page.locator(".pl-empty")).to_have_count(0)
