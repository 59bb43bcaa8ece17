"""Onboarding in the browser (issue 14): a site with its address, commissioning date and lifecycle; the
charger that just registered itself claimed into it with its password shown once; renamed on its page
with the change in its history; a card issued, blocked and imported with a bad row; a fleet customer."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.conftest import ROOT, open_signed_in, screenshot, sign_in

REGISTER = (
    "import sys\nfrom pipelet_app.db import session_scope\n"
    "from pipelet_app.ocpp.chargers import register_charger\n"
    "with session_scope() as db: register_charger(db, sys.argv[1])"
)


def test_operator_onboards_a_site_charger_and_cards(page: Page, server: dict) -> None:
    suffix = uuid.uuid4().hex[:6].upper()
    sign_in(page, server, "operator@sonnenstrom.demo")
    expect(page.locator("#operator-sites")).to_be_visible(timeout=30_000)

    open_signed_in(page, f"{server['base']}/operator/sites/new")
    page.fill("#site-name", f"Hafen {suffix}")
    page.fill("#site-timezone", "Europe/Berlin")
    page.fill("#site-address", "Am Kai 1, 20457 Hamburg")
    page.fill("#site-commissioning_date", "2026-11-02")
    page.select_option("#site-lifecycle_state", "commissioning")
    page.click("#site-save")
    expect(page).to_have_url(re.compile(r"/operator/sites/\d+$"), timeout=30_000)
    expect(page.locator("#site-history")).to_contain_text("site.created", timeout=30_000)
    expect(page.locator("#site-history")).to_contain_text("Am Kai 1")

    cp_id = f"E2E-AUTO-{suffix}"
    subprocess.run([sys.executable, "-c", REGISTER, cp_id], cwd=ROOT, env=server["env"], check=True)
    open_signed_in(page, f"{server['base']}/operator/claim")
    page.fill("#claim-cp", cp_id)
    page.select_option("#claim-site", label=f"Hafen {suffix}")
    page.click("#claim-submit")
    expect(page.locator("#new-password")).to_have_text(re.compile(r"^[A-Za-z0-9]{16,40}$"), timeout=30_000)
    page.click("#claim-submit")  # a second claim of the same charger is refused, the page says why
    expect(page.locator("#claim-error")).to_contain_text("already claimed", timeout=30_000)
    screenshot(page, "operator-claim")

    page.goto(f"{server['base']}/operator/chargers/{cp_id}")
    expect(page.locator("#setup-history")).to_contain_text("ChargerClaimed", timeout=30_000)
    page.fill("#setup-name", "Gate 4")
    page.select_option("#setup-network", "helios")
    page.click("#setup-save")
    expect(page.locator("#setup-history")).to_contain_text("display_name: — → Gate 4", timeout=30_000)

    card = f"E2E-CARD-{suffix}"
    open_signed_in(page, f"{server['base']}/operator/tokens")
    page.fill("#token-new", card)
    page.click("#token-issue")
    expect(page.locator(f"#token-status-{card}")).to_have_text("Accepted", timeout=30_000)
    page.click(f"#token-block-{card}")
    expect(page.locator(f"#token-status-{card}")).to_have_text("Blocked", timeout=30_000)
    page.fill("#token-csv", f"token,blocked\nE2E-IMP-{suffix},\n=HYPERLINK(1),\n{card},maybe\n")
    page.click("#token-import")
    expect(page.locator("#token-import-summary")).to_contain_text("1", timeout=30_000)
    expect(page.locator("#token-import-errors")).to_contain_text("blocked")
    expect(page.locator("#token-import-errors")).to_contain_text("'=HYPERLINK(1)")
    page.click(f"#token-history-{card}")
    expect(page.locator("#token-history")).to_contain_text("IdTokenUpdated", timeout=30_000)
    screenshot(page, "operator-tokens")

    open_signed_in(page, f"{server['base']}/operator/customers")
    page.fill("#customer-name", f"Bäckerei {suffix}")
    page.click("#customer-create")
    expect(page.locator("#customers-table")).to_contain_text(f"Bäckerei {suffix}", timeout=30_000)


def test_another_operator_gets_nothing_from_the_pages(page: Page, server: dict) -> None:
    sign_in(page, server, "fleet@acme.demo")
    expect(page).not_to_have_url(re.compile("/login$"), timeout=30_000)
    for path in ("/operator/tokens", "/operator/customers", "/operator/claim"):
        page.goto(f"{server['base']}{path}")
        expect(page.locator("#denied")).to_be_visible(timeout=30_000)
