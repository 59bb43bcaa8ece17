"""An investor downloads their 2025 K-1 in the browser, and cannot get another investor's.

The download goes through the portal's own button (a state event answered with the PDF); the PDF is read
back with `pdftotext`. The refusal is tried twice: by URL to the API download route with the signed-in
session, and by a forged `download_k1` state event carrying the other investor's partner id over the
page's own socket. The same forged frame with the investor's own id is the control.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from playwright.sync_api import Page, expect

from pipelet_app.portals.investor.state import InvestorState
from pipelet_app.portals.spv.state import SpvConsoleState
from tests.e2e.conftest import screenshot, sign_in, tap_event_socket

IVY = "investor@pipelet.demo"


def _pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _k1_entries(page: Page, server: dict) -> list[dict]:
    response = page.request.get(f"{server['base']}/api/v1/investors/me/k1?year=2025")
    assert response.status == 200, response.text()
    return response.json()


def _harbor_partner_id(page: Page, server: dict) -> int:
    """Harbor's partner id as Harbor itself sees it (a fresh context, so Ivy's session is untouched)."""
    context = page.context.browser.new_context()
    other = context.new_page()
    try:
        sign_in(other, server, "investor2@pipelet.demo")
        expect(other.locator("#investor-k1s")).to_be_visible(timeout=30_000)
        (entry,) = _k1_entries(other, server)
        assert entry["partner"] == "Harbor Renewables Fund LP"
        return entry["partner_id"]
    finally:
        context.close()


def test_investor_downloads_own_k1_and_is_refused_anothers(page: Page, server: dict, tmp_path: Path) -> None:
    harbor_id = _harbor_partner_id(page, server)

    sign_in(page, server, IVY)
    table = page.locator("#investor-k1s")
    expect(table).to_contain_text("Evergreen Tax Equity LLC", timeout=30_000)
    expect(table).to_contain_text("2025")
    expect(table).to_contain_text("final")
    expect(table).not_to_contain_text("Harbor")
    expect(page.locator("#investor-analytics")).to_be_visible()
    expect(page.locator("#investor-depreciation")).to_contain_text("SON-CP-001")
    screenshot(page, "investor-k1")

    (own,) = _k1_entries(page, server)
    with page.expect_download(timeout=60_000) as download_info:
        page.locator(f"#k1-download-{own['partner_id']}-2025").click()
    target = tmp_path / "k1.pdf"
    download_info.value.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")
    text = _pdftotext(target)
    assert "Evergreen Tax Equity LLC" in text
    assert "(69,970.80)" in text  # box 1, 60 % of the ordinary loss
    assert "10,980.00" in text  # box 15, 60 % of the §30C credit
    assert "4,800.00" in text  # box 19, cash distributions
    assert "Harbor" not in text and "DRAFT" not in text

    # By URL: the API download route with Ivy's signed-in session.
    stolen = page.request.get(f"{server['base']}/api/v1/investors/me/k1/{harbor_id}/2025.pdf")
    assert stolen.status == 404
    assert b"%PDF" not in stolen.body() and "Harbor" not in stolen.text()
    mine = page.request.get(f"{server['base']}{own['download_url']}")
    assert mine.status == 200 and mine.body().startswith(b"%PDF")

    # By forged state event: Harbor's id, then (control) Ivy's own id, on the page's socket.
    foreign, control = _forged_downloads(page, server, [harbor_id, own["partner_id"]])
    assert "data:application/pdf" not in foreign and "Harbor" not in foreign
    assert "not available" in foreign
    assert "data:application/pdf" in control


def _forged_downloads(page: Page, server: dict, partner_ids: list[int]) -> list[str]:
    """Send `InvestorState.download_k1(id, 2025)` for each id over Ivy's page socket; frames per event."""
    events = [
        (f"{InvestorState.get_full_name()}.download_k1", {"partner_id": partner_id, "year": 2025})
        for partner_id in partner_ids
    ]
    return _forge(page, server, "/investor", "#investor-k1s", events)


def _forge(page: Page, server: dict, path: str, ready: str, events: list[tuple[str, dict]]) -> list[str]:
    """Open `path` as the signed-in user, then send each (event name, payload) over the page's own
    socket; returns the frames the server sent back for each event."""
    received, send = tap_event_socket(page)
    page.goto(f"{server['base']}{path}")
    expect(page.locator(ready)).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1_000)
    out = []
    for name, payload in events:
        received.clear()
        send(name, payload, path)
        page.wait_for_timeout(3_000)
        out.append("".join(received))
    return out


def test_sponsor_console_actions_are_guarded_on_the_server(page: Page, server: dict) -> None:
    """The 2025 return can be moved only by the sponsor's operators: Northwind's operator forging the
    console's status event gets "Not found." and the return stays released. Otto (Sonnenstrom) sending a
    no-op transition is the control: his event reaches the release rules (and changes nothing either)."""
    spv_id = server["demo"]["spvs"][0]["id"]
    name = f"{SpvConsoleState.get_full_name()}.set_status"
    sign_in(page, server, "operator@northwind.demo")
    expect(page.locator("#signed-in-user")).to_be_visible(timeout=30_000)
    (intruder,) = _forge(
        page, server, "/operator/spvs", "#page-title",
        [(name, {"spv_id": str(spv_id), "year": "2025", "target": "draft"})],
    )  # fmt: skip
    assert "Not found." in intruder and "Released → Draft" not in intruder

    # Otto in a browser of his own (a fresh context: no cookies, storage or routes of Nora's).
    context = page.context.browser.new_context()
    otto = context.new_page()
    try:
        sign_in(otto, server, "operator@sonnenstrom.demo")
        expect(otto.locator("#signed-in-user")).to_be_visible(timeout=30_000)
        otto.goto(f"{server['base']}/operator/spvs")
        years = otto.locator("#spv-years")
        expect(years).to_contain_text("2025", timeout=30_000)
        expect(years).to_contain_text("Released")  # the intruder changed nothing (the status in words)
        expect(otto.locator("#spv-alerts")).to_be_visible()
        screenshot(otto, "operator-spvs")
        (owner,) = _forge(
            otto, server, "/operator/spvs", "#spv-years",
            [(name, {"spv_id": str(spv_id), "year": "2025", "target": "released"})],
        )  # fmt: skip
    finally:
        context.close()
    assert "cannot go from released to released" in owner
