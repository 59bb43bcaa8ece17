"""The driver's own figures: solar share per session and month, a session's detail, a date filter, a CSV
download for an expense claim; the PV page neither denies PV data nor keeps an old brand's error."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot, sign_in


def test_driver_filters_opens_a_session_and_downloads_csv(page: Page, server: dict) -> None:
    sign_in(page, server, "driver@acme.demo")
    expect(page.locator("#driver-sessions tbody tr").first).to_be_visible(timeout=20_000)
    expect(page.locator("#driver-months")).to_contain_text("%")
    screenshot(page, "driver-overview")

    # CSV of the period shown
    with page.expect_download(timeout=20_000) as download:
        page.click("#driver-export")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("transaction_id,start_utc,") and text.count("\n") > 1

    # a period with nothing in it: an empty table, and an impossible one: an error naming the period
    page.fill("#driver-start", "2001-01-01")
    page.fill("#driver-end", "2001-01-31")
    page.click("#driver-apply")
    expect(page.locator("#driver-sessions tbody tr")).to_have_count(0, timeout=20_000)
    page.fill("#driver-start", "2001-02-01")
    page.click("#driver-apply")
    expect(page.locator("#driver-period-error")).to_contain_text("period", timeout=20_000)

    # the period stays with the tab (the last valid one); a wide one brings every session back
    page.fill("#driver-start", "2000-01-01")
    page.fill("#driver-end", "2099-12-31")
    page.click("#driver-apply")
    page.locator(".session-link").first.click()
    expect(page).to_have_url(re.compile(r"/driver/sessions/\d+$"), timeout=20_000)
    expect(page.locator("#session-duration")).not_to_be_empty(timeout=20_000)
    expect(page.locator("#session-solar-share")).to_contain_text(re.compile(r"%|—"))
    screenshot(page, "driver-session")


def test_another_drivers_session_is_not_found(page: Page, server: dict) -> None:
    sign_in(page, server, "driver@globex.demo")
    expect(page.locator("#driver-sessions")).to_be_visible(timeout=20_000)
    page.goto(f"{server['base']}/driver/sessions/1")  # the demo's first session is an ACME driver's
    expect(page.locator("#denied")).to_be_visible(timeout=20_000)


def test_pv_page_counts_imported_pv_sessions_and_drops_an_old_brands_error(page: Page, server: dict) -> None:
    sign_in(page, server, "driver@acme.demo")
    expect(page.locator("#signed-in-user")).to_be_visible(timeout=20_000)
    # a failed Enphase round trip (forged state) leaves an error notice ...
    page.goto(f"{server['base']}/driver/pv/callback?code=x&state=forged.state")
    expect(page.locator("#pv-notice")).to_be_visible(timeout=20_000)
    if page.locator("#pv-none").count():  # (no connection left by other tests) the demo's PV sessions count
        expect(page.locator("#pv-none")).not_to_contain_text("No inverter connected yet")
    # ... which is gone with the next brand's form, and after a reload
    page.click("#brand-solaredge")
    expect(page.locator("#pv-notice")).to_have_count(0)
    page.goto(f"{server['base']}/driver/pv/callback?code=x&state=forged.state")
    expect(page.locator("#pv-notice")).to_be_visible(timeout=20_000)
    page.reload()
    expect(page.locator("#brand-enphase")).to_be_visible(timeout=20_000)
    expect(page.locator("#pv-notice")).to_have_count(0)
