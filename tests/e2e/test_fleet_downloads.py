"""Fleet portal controls that used to do nothing visible: the CSV export link and the month picker."""

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
