"""Fleet portal controls that used to do nothing visible: the CSV export link and the month picker."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in


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

