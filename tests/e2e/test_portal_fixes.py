"""Portal defects people met (issue 13): the CSV export link, the month picker, charger status and internal
codes on pages."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in

MONTH = (datetime.now(UTC) - timedelta(days=14)).strftime("%Y-%m")


def test_export_button_downloads_the_csv_instead_of_a_404_page(page: Page, server: dict) -> None:
    sign_in(page, server, "fleet@globex.demo")
    expect(page.locator("#fleet-drivers")).to_contain_text("Maya Moore", timeout=20_000)
    page.fill("#period-start", "2000-01-01")
    page.fill("#period-end", "2099-12-31")
    page.click("#period-apply")
    expect(page.locator("#total-all")).not_to_have_text("0.0 kWh", timeout=20_000)
    url_before = page.url
    with page.expect_download(timeout=20_000) as download:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows, "the downloaded CSV has session rows"
    assert {r["driver_name"] for r in rows} <= {"Dirk Globex", "Maya Moore", "Sam Ortiz"}
    assert page.url == url_before, "the page stays where it was (no client-side route to a 404)"
    expect(page.locator("body")).not_to_contain_text("404")


def test_picking_a_month_loads_its_statements_without_another_click(page: Page, server: dict) -> None:
    sign_in(page, server, "fleet@acme.demo")
    expect(page).to_have_url(re.compile("/fleet$"), timeout=20_000)
    page.get_by_role("link", name="Reimbursement").click()
    dana = page.locator("#statements tbody tr").filter(has_text="Dana Driver")
    sessions = dana.locator("td").nth(1)  # driver, sessions, energy, ...
    expect(dana).to_have_count(1, timeout=20_000)  # loaded: the picker is final
    # Every driver gets a statement; the month shows in the session count. No Compute click anywhere.
    page.fill("#reimb-month", "2001-01")  # long before any session
    expect(sessions).to_have_text("0", timeout=20_000)
    page.fill("#reimb-month", MONTH)  # the demo's sessions cover the last four weeks
    expect(sessions).not_to_have_text("0", timeout=20_000)
    expect(page.locator("#reimb-month")).to_have_value(MONTH)


def test_operator_list_words_each_chargers_status(page: Page, server: dict) -> None:
    sign_in(page, server, "operator@sonnenstrom.demo")
    chargers = page.locator("#operator-chargers")
    expect(chargers).to_contain_text("SON-CP-001", timeout=20_000)
    # The demo's chargers are not connected: the summary says so in words, whatever they last reported.
    expect(page.locator("#status-SON-CP-001")).to_have_text("Offline")
    expect(chargers).not_to_contain_text("Available")


def test_admin_sees_roles_and_a_refused_invitation_in_words(page: Page, server: dict) -> None:
    sign_in(page, server, "admin@pipelet.demo")
    expect(page.locator("#invite-email")).to_be_visible(timeout=20_000)
    page.fill("#invite-email", "wrong-tenant@acme.demo")
    page.click("#invite-role")
    expect(page.get_by_role("option", name="Fleet manager", exact=True)).to_be_visible()
    expect(page.get_by_role("option", name="fleet_manager")).to_have_count(0)
    page.get_by_role("option", name="Charger operator", exact=True).click()
    # The tenant list offers only charger operators for this role (the server refuses a fleet anyway:
    # tests/unit/i18n/test_words.py words that refusal, tests/integration/auth the rule).
    page.click("#invite-tenant")
    expect(page.get_by_role("option", name=re.compile(r"\(charger operator\)$")).first).to_be_visible()
    expect(page.get_by_role("option", name="Acme Logistics (fleet)")).to_have_count(0)
