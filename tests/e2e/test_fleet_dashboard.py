"""The fleet dashboard as a fleet manager uses it: period, totals, sort, search, drill-down, CSV export."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot, sign_in


def _kwh(text: str) -> float:
    return float(text.replace(" kWh", "").replace(",", ""))


def test_dashboard_totals_sort_search_and_drill_down(page: Page, server: dict) -> None:
    sign_in(page, server, "fleet@acme.demo")
    table = page.locator("#fleet-drivers")
    expect(table).to_contain_text("Dana Driver", timeout=20_000)
    parts = [_kwh(page.locator(f"#total-{k}").inner_text()) for k in ("ocpp", "pv", "public")]
    assert sum(parts) == pytest.approx(_kwh(page.locator("#total-all").inner_text()), abs=0.15)
    expect(page.locator(".recharts-bar-rectangle").first).to_be_visible()
    screenshot(page, "fleet-dashboard")

    names = table.locator("tbody tr td:first-child").all_inner_texts()
    assert names == sorted(names)
    page.click("#sort-total")  # first click on a number column sorts largest first

    def totals() -> list[float]:
        return [
            float(t.replace(",", "")) for t in table.locator("tbody tr td:nth-child(5)").all_inner_texts()
        ]

    for _ in range(50):  # the sorted rows arrive with the click's answer, not with the click itself
        if totals() == sorted(totals(), reverse=True):
            break
        page.wait_for_timeout(200)
    assert totals() == sorted(totals(), reverse=True) and len(totals()) >= 4  # other tests may invite drivers

    page.fill("#driver-search", "lena")
    expect(table.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Lena Lang").click()
    expect(page).to_have_url(re.compile(r"/fleet/drivers/\d+$"), timeout=20_000)
    expect(page.locator("#page-title")).to_have_text("Lena Lang", timeout=20_000)
    sessions = page.locator("#driver-sessions tbody tr")
    expect(sessions.first).to_be_visible()
    expect(page.locator("#driver-sessions")).to_contain_text("Enphase")  # PV sessions name their brand
    screenshot(page, "fleet-driver")


def test_period_and_csv_export_use_the_signed_in_session(page: Page, server: dict) -> None:
    sign_in(page, server, "fleet@globex.demo")
    expect(page.locator("#fleet-drivers")).to_contain_text("Maya Moore", timeout=20_000)
    page.fill("#period-start", "2020-01-01")
    page.fill("#period-end", "2020-01-31")
    page.click("#period-apply")
    expect(page.locator("#total-all")).to_have_text("0.0 kWh", timeout=20_000)
    page.fill("#period-start", "2020-02-01")
    page.fill("#period-end", "2020-01-01")
    page.click("#period-apply")
    expect(page.locator("#period-error")).to_contain_text(
        "period: the start is after the end", timeout=20_000
    )

    page.reload()
    expect(page.locator("#fleet-drivers")).to_contain_text(
        "Maya Moore", timeout=20_000
    )  # loaded: inputs final
    page.fill("#period-start", "2000-01-01")
    page.fill("#period-end", "2099-12-31")
    page.click("#period-apply")
    expect(page.locator("#total-all")).not_to_have_text("0.0 kWh", timeout=20_000)
    href = page.locator("#export-csv").locator("xpath=..").get_attribute("href")
    assert href and href.startswith("/api/v1/fleet/sessions.csv?from=2000-01-01")
    response = page.request.get(f"{server['base']}{href}")
    assert response.status == 200
    rows = list(csv.DictReader(io.StringIO(response.text())))
    assert rows and {r["driver_name"] for r in rows} <= {"Dirk Globex", "Maya Moore", "Sam Ortiz"}
    assert sum(float(r["energy_wh"]) for r in rows) / 1000 == pytest.approx(
        _kwh(page.locator("#total-all").inner_text()), rel=0.001, abs=0.15
    )
    anonymous = page.context.browser.new_context().request.get(f"{server['base']}{href}")
    assert anonymous.status == 401
