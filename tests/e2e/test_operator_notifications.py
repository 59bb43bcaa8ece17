"""An operator chooses their e-mails in the browser: the digest at 06:00 for one site; after a reload the
choice is still there (stored, not just shown), and a bad time zone is refused naming the field."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in


def test_operator_subscribes_to_a_digest_for_one_site(page: Page, server: dict) -> None:
    sign_in(page, server, "operator@northwind.demo")
    expect(page.locator("#operator-sites")).to_be_visible(timeout=30_000)
    page.click("#notifications-link")
    expect(page.locator("#notify-save")).to_be_visible(timeout=30_000)
    expect(page.locator("#notify-faults")).to_be_checked()  # the defaults: faults and recoveries

    page.locator("#notify-daily_digest").click()
    page.select_option("#notify-digest-hour", "6")
    first_site = page.locator("[id^=notify-site-]").first
    site_id = first_site.get_attribute("id")
    first_site.click()
    page.fill("#notify-timezone", "Mars/Olympus")
    page.click("#notify-save")
    expect(page.locator("#notify-error")).to_contain_text("timezone", timeout=20_000)

    page.fill("#notify-timezone", "America/New_York")
    page.click("#notify-save")
    expect(page.locator("#notify-saved")).to_be_visible(timeout=20_000)

    page.reload()
    expect(page.locator("#notify-save")).to_be_visible(timeout=30_000)
    expect(page.locator("#notify-daily_digest")).to_be_checked()
    expect(page.locator("#notify-digest-hour")).to_have_value("6")
    expect(page.locator("#notify-timezone")).to_have_value("America/New_York")
    expect(page.locator(f"#{site_id}")).to_be_checked()
    expect(page.locator("#notify-recoveries")).to_be_checked()  # untouched
