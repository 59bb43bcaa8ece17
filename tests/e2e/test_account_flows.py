"""Invitations, API keys and the language choice, as people use them in the browser."""

from __future__ import annotations

import re
import urllib.request
import uuid

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import open_signed_in, screenshot, sign_in


def _api_status(base: str, path: str, key: str) -> int:
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_admin_invites_a_driver_who_sets_a_password_and_signs_in(
    page: Page, browser: Browser, server: dict
) -> None:
    email = f"new-{uuid.uuid4().hex[:6]}@acme.demo"
    sign_in(page, server, "admin@pipelet.demo")
    expect(page.locator("#invite-email")).to_be_visible(timeout=20_000)
    page.fill("#invite-email", email)
    page.fill("#invite-name", "Nia New")
    page.click("#invite-role")
    page.get_by_role("option", name="Driver", exact=True).click()
    page.click("#invite-tenant")
    page.get_by_role("option", name="Acme Logistics (fleet)").click()
    page.click("#invite-submit")
    link = page.locator("#invite-link")
    expect(link).to_contain_text("/invite/", timeout=20_000)
    expect(page.locator("#admin-invitations")).to_contain_text(email)
    screenshot(page, "admin-invited")
    path = "/invite/" + link.inner_text().split("/invite/")[1].strip()

    invitee = browser.new_context().new_page()
    invitee.goto(f"{server['base']}{path}")
    invitee.fill("#invite-password", "short")
    invitee.click("#invite-accept")
    expect(invitee.locator("#invite-page-error")).to_contain_text("at least 10 characters", timeout=20_000)
    invitee.fill("#invite-password", "a-much-longer-password")
    invitee.click("#invite-accept")
    expect(invitee.locator("#invite-done")).to_be_visible(timeout=20_000)

    invitee.goto(f"{server['base']}{path}")
    expect(invitee.locator("#invite-page-error")).to_contain_text("already been used", timeout=20_000)

    invitee.goto(f"{server['base']}/login")
    invitee.fill("#email", email)
    invitee.fill("#password", "a-much-longer-password")
    invitee.click("#login-submit")
    expect(invitee).to_have_url(re.compile("/driver$"), timeout=20_000)
    expect(invitee.locator("#signed-in-user")).to_have_text("Nia New")


def test_bogus_invitation_link_is_explained(page: Page, server: dict) -> None:
    page.goto(f"{server['base']}/invite/not-a-real-token")
    expect(page.locator("#invite-page-error")).to_have_text(
        "This invitation link is not valid.", timeout=20_000
    )
    expect(page.locator("#invite-accept")).to_have_count(0)


def test_api_key_page_creates_a_working_key_and_revokes_it(page: Page, server: dict) -> None:
    sign_in(page, server, "operator@sonnenstrom.demo")
    expect(page).to_have_url(re.compile("/operator$"), timeout=20_000)
    open_signed_in(page, f"{server['base']}/account/api-keys")
    page.fill("#key-name", "e2e partner")
    page.click("#key-create")
    new_key = page.locator("#new-key")
    expect(new_key).to_contain_text("pk_", timeout=20_000)
    key = new_key.inner_text().strip()
    assert _api_status(server["base"], "/api/v1/chargers", key) == 200
    key_id = key.split("_")[1]
    row = page.locator("#api-keys tr", has_text=key_id)
    row.get_by_role("button").click()
    page.click("#confirm-action")
    expect(page.locator("#api-keys")).not_to_contain_text(key_id, timeout=20_000)
    assert _api_status(server["base"], "/api/v1/chargers", key) == 401


def test_language_choice_is_remembered_across_sign_ins(page: Page, browser: Browser, server: dict) -> None:
    sign_in(page, server, "investor2@pipelet.demo")
    expect(page.locator("#page-title")).to_have_text("My investments", timeout=20_000)
    page.click("#locale-select")
    page.get_by_role("option", name="Deutsch").click()
    expect(page.locator("#page-title")).to_have_text("Meine Beteiligungen", timeout=20_000)
    screenshot(page, "investor-de")

    fresh = browser.new_context().new_page()  # no cookies: the choice must come from the account
    sign_in(fresh, server, "investor2@pipelet.demo")
    expect(fresh.locator("#page-title")).to_have_text("Meine Beteiligungen", timeout=20_000)
    fresh.click("#locale-select")
    fresh.get_by_role("option", name="English").click()
    expect(fresh.locator("#page-title")).to_have_text("My investments", timeout=20_000)
