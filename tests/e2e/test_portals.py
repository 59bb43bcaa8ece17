"""Each demo role signs in, lands on its portal with its own data, and is refused everyone else's."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot, sign_in

HOME = {
    "driver@acme.demo": ("/driver", "#driver-sessions", "SON-CP-"),
    "fleet@acme.demo": ("/fleet", "#fleet-drivers", "Dana Driver"),
    "operator@sonnenstrom.demo": ("/operator", "#operator-chargers", "SON-CP-001"),
    "investor@pipelet.demo": ("/investor", "#investor-partnerships", "Evergreen Tax Equity LLC"),
    "admin@pipelet.demo": ("/admin", "#invite-email", ""),
}
OTHER_PAGES = ["/driver", "/fleet", "/operator", "/investor", "/admin"]


@pytest.mark.parametrize("email", list(HOME))
def test_role_lands_on_own_portal_with_own_data(page: Page, server: dict, email: str) -> None:
    path, marker, text = HOME[email]
    sign_in(page, server, email)
    expect(page).to_have_url(re.compile(f"{path}$"), timeout=20_000)
    expect(page.locator(marker)).to_be_visible(timeout=20_000)
    if text:
        expect(page.locator(marker)).to_contain_text(text)
    screenshot(page, f"portal-{path.strip('/')}")


@pytest.mark.parametrize("email", list(HOME))
def test_role_is_refused_other_portals(page: Page, server: dict, email: str) -> None:
    own = HOME[email][0]
    sign_in(page, server, email)
    expect(page).to_have_url(re.compile(f"{own}$"), timeout=20_000)
    for path in OTHER_PAGES:
        if path == own:
            continue
        page.goto(f"{server['base']}{path}")
        expect(page.locator("#denied")).to_be_visible(timeout=20_000)
        for marker in ("#driver-sessions", "#fleet-drivers", "#operator-chargers", "#investor-partnerships"):
            expect(page.locator(marker)).to_have_count(0)


def test_other_tenant_data_never_shows(page: Page, server: dict) -> None:
    sign_in(page, server, "operator@northwind.demo")
    expect(page.locator("#operator-chargers")).to_contain_text("NW-CP-001", timeout=20_000)
    expect(page.locator("body")).not_to_contain_text("SON-CP-")


def test_wrong_password_is_explained_and_nobody_signed_in(page: Page, server: dict) -> None:
    page.goto(f"{server['base']}/login")
    page.fill("#email", "driver@acme.demo")
    page.fill("#password", "not-the-password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("Wrong e-mail or password.", timeout=20_000)
    page.goto(f"{server['base']}/driver")
    expect(page).to_have_url(re.compile("/login$"), timeout=20_000)


def test_logout_ends_the_session(page: Page, server: dict) -> None:
    sign_in(page, server, "fleet@acme.demo")
    expect(page.locator("#fleet-drivers")).to_be_visible(timeout=20_000)
    page.click("#logout")
    expect(page).to_have_url(re.compile("/login$"), timeout=20_000)
    page.goto(f"{server['base']}/fleet")
    expect(page).to_have_url(re.compile("/login$"), timeout=20_000)


def test_unauthenticated_visitor_goes_to_login(page: Page, server: dict) -> None:
    for path in OTHER_PAGES:
        page.goto(f"{server['base']}{path}")
        expect(page).to_have_url(re.compile("/login$"), timeout=20_000)
