"""The admin's system page in Chromium: the database answers, the CSMS node of the running installation
shows its sockets, and "Download diagnostics" saves a JSON file without the installation's secret key."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in


def test_admin_sees_system_health_and_downloads_a_safe_report(page: Page, server: dict) -> None:
    sign_in(page, server, "admin@pipelet.demo")
    expect(page.locator("#signed-in-user")).to_be_attached(timeout=30_000)
    page.goto(f"{server['base']}/admin/system")
    expect(page.locator("#diag-facts")).to_contain_text("OK", timeout=30_000)  # the status in words
    expect(page.locator("#diag-nodes")).to_contain_text("csms", timeout=20_000)
    expect(page.locator("#diag-migration")).to_have_count(0)  # the schema is the newest
    with page.expect_download() as download_info:
        page.click("#diag-download")
    report = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    assert report["database"]["status"] == "ok"
    assert next(n for n in report["csms_nodes"] if n["node"] == "csms")["status"] == "ok"
    raw = json.dumps(report)
    assert server["env"]["PIPELET_SECRET_KEY"] not in raw
    assert report["settings"]["pipelet_secret_key"] == "<redacted>"
