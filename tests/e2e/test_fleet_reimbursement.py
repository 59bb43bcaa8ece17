"""Reimbursement and public-session import in the browser, as a fleet manager does them."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import open_signed_in, screenshot, sign_in

MONTH = (datetime.now(UTC) - timedelta(days=14)).strftime("%Y-%m")


def test_rates_drafts_approval_pdf_and_export(page: Page, server: dict, tmp_path: Path) -> None:
    sign_in(page, server, "fleet@acme.demo")
    expect(page).to_have_url(re.compile("/fleet$"), timeout=20_000)
    page.get_by_role("link", name="Reimbursement").click()
    # Loaded (so the inputs are final); other tests may have invited more drivers into the fleet.
    expect(page.locator("#statements tbody tr").filter(has_text="Dana Driver")).to_have_count(
        1, timeout=20_000
    )
    page.fill("#rate-ocpp-wallbox", "0.30")
    page.fill("#rate-pv-inverter", "0,15")
    page.fill("#rate-public", "abc")
    page.click("#rates-save")
    expect(page.locator("#reimb-error")).to_contain_text("rate: 'abc' is not a number", timeout=20_000)
    assert page.request.get(f"{server['base']}/api/v1/fleet/reimbursement/rates").json()["rates"] == {
        "ocpp-wallbox": None,
        "pv-inverter": None,
        "public": None,
    }, "a refused save writes nothing"
    page.fill("#rate-public", "")
    page.click("#rates-save")
    expect(page.locator("#reimb-error")).to_have_count(0, timeout=20_000)

    page.fill("#reimb-month", MONTH)
    page.click("#reimb-compute")
    rows = page.locator("#statements tbody tr")
    first = rows.filter(has_text="Dana Driver")
    expect(first).to_contain_text("Draft")
    first.get_by_role("button", name="Approve").click()
    expect(first).to_contain_text("Draft")  # nothing happens before the confirmation
    page.click("#confirm-action")
    expect(first).to_contain_text("Approved", timeout=20_000)
    # Undo, possible until the export: back to draft, then approved again (each step audited).
    first.get_by_role("button", name="Undo approval").click()
    expect(first).to_contain_text("Draft", timeout=20_000)
    first.get_by_role("button", name="Approve").click()
    page.click("#confirm-action")
    expect(first).to_contain_text("Approved", timeout=20_000)
    screenshot(page, "fleet-reimbursement")

    pdf_href = first.get_by_role("link", name="PDF").get_attribute("href")
    pdf = page.request.get(f"{server['base']}{pdf_href}")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.body(), capture_output=True, check=True
    ).stdout.decode()
    assert "Dana Driver" in text and MONTH in text and "0.15" in text and "0.30" in text

    page.click("#reimb-export")
    page.click("#confirm-cancel")  # changing one's mind sends nothing
    expect(page.locator("#confirm-action")).to_have_count(0)
    expect(first).to_contain_text("Approved")
    page.click("#reimb-export")
    with page.expect_download() as download:
        page.click("#confirm-action")
    exported = Path(download.value.path()).read_text()
    assert exported.startswith("month,driver_id,driver_name")
    assert "Dana Driver" in exported and "Emil Ernst" not in exported
    expect(first).to_contain_text("Exported", timeout=20_000)
    expect(first.get_by_role("button", name="Undo approval")).to_have_count(0)  # the file has left


def test_public_csv_upload_preview_and_import(page: Page, server: dict, tmp_path: Path) -> None:
    csv_file = tmp_path / "ionity.csv"
    csv_file.write_text(
        "driver_email;start_utc;energy_kwh;station_id;cost;provider\n"
        "driver@globex.demo;2026-01-05T09:00:00Z;41,2;DE*ION*E5555;24.30;IONITY\n"
        "driver@globex.demo;2026-01-06T09:00:00Z;-1;DE*ION*E5555;;IONITY\n"
        "driver@acme.demo;2026-01-07T09:00:00Z;10;DE*ION*E5555;;IONITY\n"
    )
    sign_in(page, server, "fleet@globex.demo")
    expect(page).to_have_url(re.compile("/fleet$"), timeout=20_000)
    open_signed_in(page, f"{server['base']}/fleet/import")
    page.locator("#public-csv input[type=file]").set_input_files(str(csv_file))
    expect(page.locator("#import-new")).to_have_text("1 new sessions", timeout=20_000)
    expect(page.locator("#import-errors")).to_have_text("2 rows with errors")
    expect(page.locator("body")).to_contain_text("line 3, energy_kwh: '-1' is outside 0 to 1,000")
    expect(page.locator("body")).to_contain_text(
        "line 4, driver_email: no driver driver@acme.demo in your fleet"
    )
    screenshot(page, "fleet-import-preview")
    page.click("#import-apply")
    expect(page.locator("#import-result")).to_have_text(
        "1 imported, 0 already there, 2 left out", timeout=20_000
    )

    page.locator("#public-csv input[type=file]").set_input_files(str(csv_file))
    expect(page.locator("#import-new")).to_have_text("0 new sessions", timeout=20_000)
    expect(page.locator("#import-apply")).to_be_disabled()
