"""Admin: users listed with their roles in words; an open invitation sent again (new link, the old one
dead) and revoked (gone from the list)."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import screenshot, sign_in


def _invite(page: Page, email: str) -> str:
    page.fill("#invite-email", email)
    page.click("#invite-role")
    page.get_by_role("option", name="Driver", exact=True).click()
    page.click("#invite-tenant")
    expect(page.get_by_role("option", name="Northwind Charging Inc. (charger operator)")).to_have_count(0)
    page.get_by_role("option", name="Acme Logistics (fleet)").click()
    page.click("#invite-submit")
    link = page.locator("#invite-link")
    expect(link).to_contain_text("/invite/", timeout=20_000)
    return "/invite/" + link.inner_text().split("/invite/")[1].strip()


def test_admin_lists_users_resends_and_revokes(page: Page, browser: Browser, server: dict) -> None:
    sign_in(page, server, "admin@pipelet.demo")
    expect(page.locator("#admin-users")).to_contain_text("driver@acme.demo", timeout=20_000)
    expect(page.locator("#admin-users")).to_contain_text("Fleet manager")
    expect(page.locator("#admin-users")).not_to_contain_text("fleet_manager")
    expect(page.locator("#admin-no-public-url")).to_be_visible()  # the suite runs without PUBLIC_URL

    email = f"resend-{uuid.uuid4().hex[:6]}@acme.demo"
    old = _invite(page, email)
    row = page.locator("#admin-invitations tr", has_text=email)
    row.get_by_role("button", name="New link").click()
    expect(page.locator("#invite-link")).not_to_contain_text(old, timeout=20_000)
    new = "/invite/" + page.locator("#invite-link").inner_text().split("/invite/")[1].strip()
    screenshot(page, "admin-users")

    other = browser.new_context().new_page()
    other.goto(f"{server['base']}{old}")
    expect(other.locator("body")).to_contain_text("not valid", timeout=20_000)
    other.goto(f"{server['base']}{new}")
    expect(other.locator("#invite-password")).to_be_visible(timeout=20_000)

    row.get_by_role("button", name="Revoke").click()
    page.click("#confirm-action")  # irreversible: asked once more
    expect(page.locator("body")).not_to_contain_text(email, timeout=20_000)
    other.goto(f"{server['base']}{new}")
    expect(other.locator("body")).to_contain_text("expired", timeout=20_000)
