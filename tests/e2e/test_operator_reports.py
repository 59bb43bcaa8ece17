"""The whole onboarding path in the browser, down to the report (issue 14): a site created on its page;
a raw-JSON OCPP 1.6 charger that connects unknown (auto-registration is on in the suite's
`pipelet run`) claimed into it, its password handed over the live socket; a card issued on the tokens
page; that card authorizes, starts, meters and stops a session on the raw charger; the session is in the
site's portfolio report and in the drill-down behind the figure. And the attention list: a fault on a
raw charger appears on `/operator` with the link to its page."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.e2e.conftest import open_signed_in, screenshot, sign_in
from tests.e2e.threaded_charger import ThreadedCharger


def _claim(page: Page, server: dict, cp_id: str, site_label: str | None) -> None:
    open_signed_in(page, f"{server['base']}/operator/claim")
    page.fill("#claim-cp", cp_id)
    if site_label:
        page.select_option("#claim-site", label=site_label)
    else:
        page.select_option("#claim-site", index=0)
    page.click("#claim-submit")
    expect(page.locator("#new-password")).to_have_text(re.compile(r"^[A-Za-z0-9]{16,40}$"), timeout=60_000)


def test_site_charger_card_session_report(page: Page, server: dict) -> None:
    suffix = uuid.uuid4().hex[:6].upper()
    site_name = f"Report Hof {suffix}"
    sign_in(page, server, "operator@sonnenstrom.demo")
    expect(page.locator("#operator-sites")).to_be_visible(timeout=30_000)
    open_signed_in(page, f"{server['base']}/operator/sites/new")
    page.fill("#site-name", site_name)
    page.fill("#site-timezone", "Europe/Berlin")
    page.click("#site-save")
    expect(page).to_have_url(re.compile(r"/operator/sites/\d+$"), timeout=30_000)
    site_id = page.url.rsplit("/", 1)[1]

    cp_id = f"E2E-RAW-{suffix}"
    charger = ThreadedCharger(server["csms_port"], cp_id)  # no password: unknown, auto-registered
    try:
        assert charger.connect_and_boot()["status"] == "Accepted"
        charger.status("Available")
        card = f"E2E-RPT-{suffix}"
        assert charger.authorize(card, within_s=0) == "Invalid"  # unclaimed: trusted with no token

        _claim(page, server, cp_id, site_name)
        shown = page.locator("#new-password").inner_text()
        assert charger.configuration.get("AuthorizationKey") == shown  # handed over the live socket

        open_signed_in(page, f"{server['base']}/operator/tokens")
        page.fill("#token-new", card)
        page.click("#token-issue")
        expect(page.locator(f"#token-status-{card}")).to_have_text("Accepted", timeout=30_000)

        assert charger.authorize(card) == "Accepted"
        started = charger.start(card)
        assert started["idTagInfo"]["status"] == "Accepted"
        charger.status("Charging")
        charger.meter_values(4_000)
        charger.meter_values(3_500)
        assert charger.stop(card)["idTagInfo"]["status"] == "Accepted"
        charger.status("Available")
    finally:
        charger.close()

    # The sites' local days around now, so the test holds at any hour (Berlin's day is not UTC's).
    today = datetime.now(UTC).date()
    query = f"site_id={site_id}&step=day&from={today - timedelta(days=1)}&to={today + timedelta(days=2)}"
    page.goto(f"{server['base']}/operator/reports?{query}")
    expect(page.locator("#report-total-sessions")).to_have_text("1", timeout=30_000)
    expect(page.locator("#report-total-energy")).to_have_text("7.5")
    expect(page.locator("#report-sites")).to_contain_text(site_name)
    expect(page.locator("#report-chart .recharts-bar-rectangle").first).to_be_visible(timeout=30_000)
    page.click("#report-total-sessions")
    rows = page.locator("#report-session-rows")
    expect(rows).to_contain_text(cp_id, timeout=30_000)
    expect(rows).to_contain_text(site_name)
    screenshot(page, "operator-report")
    csv = page.request.get(f"{server['base']}/api/v1/reports/portfolio.csv?{query}")
    assert csv.ok and site_name in csv.text() and ",7.5," in csv.text()


def test_attention_list_shows_a_fault_with_its_link(page: Page, server: dict) -> None:
    cp_id = f"E2E-FAULT-{uuid.uuid4().hex[:6].upper()}"
    sign_in(page, server, "operator@sonnenstrom.demo")
    expect(page.locator("#operator-sites")).to_be_visible(timeout=30_000)
    charger = ThreadedCharger(server["csms_port"], cp_id)
    try:
        charger.connect_and_boot()
        charger.status("Available")
        _claim(page, server, cp_id, None)
        charger.status("Faulted", "GroundFailure")
        page.goto(f"{server['base']}/operator")
        row = page.locator("#attention tr", has_text=cp_id)
        expect(row).to_contain_text("Ground fault", timeout=30_000)  # the code in words (catalogue)
        expect(row.get_by_role("link", name=cp_id)).to_have_attribute("href", f"/operator/chargers/{cp_id}")
        screenshot(page, "operator-attention-fault")
        row.get_by_role("link", name=cp_id).click()
        expect(page).to_have_url(re.compile(f"/operator/chargers/{cp_id}$"), timeout=30_000)
        expect(page.locator("#page-title")).to_contain_text(cp_id, timeout=30_000)
    finally:
        charger.close()
