"""Security in the browser, against a real `pipelet run`: no secret on disk after a sign-in and a new API
key; the cookie is HttpOnly; a page of another origin (another port of the same host, so "same-site")
can neither read the API with the user's cookie, nor write through it, nor open the event socket; the
security headers are on the pages; a fleet manager voids a wrong import from the driver's page."""

from __future__ import annotations

import json
import re
import sqlite3
import stat
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ROOT, open_signed_in, sign_in


def _files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (p for p in root.rglob("*") if p.is_file())


def _holding(secret: str, *roots: Path) -> list[str]:
    needle = secret.encode()
    return [str(p) for p in _files_under(*roots) if needle in p.read_bytes()]


def test_no_session_token_or_new_api_key_on_disk(page: Page, server: dict) -> None:
    sign_in(page, server, "fleet@acme.demo")
    expect(page).to_have_url(re.compile("/fleet$"), timeout=20_000)
    cookie = next(c for c in page.context.cookies() if c["name"] == "pipelet_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert "pipelet_session" not in page.evaluate("document.cookie"), "page scripts never see the token"

    open_signed_in(page, f"{server['base']}/account/api-keys")
    page.fill("#key-name", "disk scan")
    page.click("#key-create")
    expect(page.locator("#new-key")).to_contain_text("pk_", timeout=20_000)
    key = page.locator("#new-key").inner_text().strip()
    page.goto(f"{server['base']}/fleet")
    expect(page.locator("#fleet-drivers")).to_be_visible(timeout=20_000)
    page.wait_for_timeout(1_000)  # let a state manager write whatever it would write

    workdir = Path(server["env"]["DATABASE_URL"].removeprefix("sqlite:///")).parent
    roots = (ROOT / ".states", ROOT / ".web" / "backend", workdir)
    assert not (ROOT / ".states").exists() or not any((ROOT / ".states").iterdir()), "no pickled tab states"
    assert _holding(cookie["value"], *roots) == [], "the session token is on disk"
    assert _holding(key, *roots) == [], "the new API key is on disk"
    for path in workdir.glob("pipelet.db*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path.name} is readable by others"

    page.goto(f"{server['base']}/account/api-keys")
    expect(page.locator("#key-name")).to_be_visible(timeout=20_000)
    assert "pk_" not in page.locator("#new-key").inner_text(), "shown once, not kept"


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>elsewhere</title><p>another origin</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def foreign_origin() -> Iterator[str]:
    """A page on another port of the same host: same-site for the browser, another origin for us."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()


def _imported(server: dict, station: str) -> int:
    path = server["env"]["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT count(*) FROM op_charging_sessions WHERE station_id = ?", (station,)
        ).fetchone()[0]


def test_a_page_of_another_origin_gets_nothing_through_the_users_cookie(
    page: Page, server: dict, foreign_origin: str
) -> None:
    base = server["base"]
    sign_in(page, server, "fleet@acme.demo")
    expect(page).to_have_url(re.compile("/fleet$"), timeout=20_000)
    page.goto(foreign_origin)

    read = page.evaluate(
        """async (url) => {
            try { const r = await fetch(url, {credentials: 'include'}); return 'read ' + r.status; }
            catch (e) { return 'blocked'; }
        }""",
        f"{base}/api/v1/fleet/sessions.csv",
    )
    assert read == "blocked", "CORS must not let another origin read the CSV with the user's cookie"

    csv = "driver_email,start_utc,energy_kwh,station_id\ndriver@acme.demo,2025-03-01T10:00:00Z,1,FOREIGN-X\n"
    page.evaluate(
        """async ([url, body]) => {
            try { await fetch(url, {method: 'POST', mode: 'no-cors', credentials: 'include',
                                    headers: {'Content-Type': 'text/plain'}, body}); } catch (e) {}
        }""",
        [f"{base}/api/v1/fleet/imports/public-sessions", csv],
    )
    assert _imported(server, "FOREIGN-X") == 0, "a simple cross-origin POST must not import with the cookie"

    socket = page.evaluate(
        """(url) => new Promise((resolve) => {
            const ws = new WebSocket(url);
            ws.onopen = () => { ws.close(); resolve('open'); };
            ws.onerror = () => resolve('refused');
            setTimeout(() => resolve('timeout'), 10000);
        })""",
        base.replace("http", "ws") + "/_event/?EIO=4&transport=websocket",
    )
    assert socket == "refused", "the event socket authenticates by cookie: other origins may not open it"

    request = urllib.request.Request(f"{base}/api/v1/health", headers={"Origin": foreign_origin})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers.get("access-control-allow-origin") is None


def test_pages_carry_the_security_headers(server: dict) -> None:
    with urllib.request.urlopen(f"{server['base']}/login", timeout=10) as response:
        headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"


def test_fleet_manager_voids_a_wrong_import_from_the_drivers_page(page: Page, server: dict) -> None:
    key = subprocess.run(
        [sys.executable, "-m", "pipelet_app.cli.main", "api-key", "create", "--email", "fleet@acme.demo"],
        cwd=ROOT,
        env=server["env"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    when = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat()
    body = f"driver_email,start_utc,energy_kwh,station_id\ndriver@acme.demo,{when},950,VOID-ME\n".encode()
    request = urllib.request.Request(
        f"{server['base']}/api/v1/fleet/imports/public-sessions",
        data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["imported"] == 1
    path = server["env"]["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (driver_id,) = db.execute("SELECT id FROM drivers WHERE email = 'driver@acme.demo'").fetchone()

    sign_in(page, server, "fleet@acme.demo")
    expect(page).to_have_url(re.compile("/fleet$"), timeout=20_000)
    page.goto(f"{server['base']}/fleet/drivers/{driver_id}")
    row = page.locator("#driver-sessions tr", has_text="VOID-ME")
    expect(row).to_be_visible(timeout=20_000)
    row.get_by_role("button").click()
    page.fill("#void-reason", "950 kWh is a typo for 9.5")
    page.click("#void-confirm")
    expect(page.locator("#void-message")).to_be_visible(timeout=20_000)
    expect(page.locator("#driver-sessions")).not_to_contain_text("VOID-ME", timeout=20_000)
    assert _imported(server, "VOID-ME") == 0
    with sqlite3.connect(path) as db:
        (reason,) = db.execute("SELECT reason FROM fleet_voided_sessions").fetchone()
    assert reason == "950 kWh is a typo for 9.5"
    # Changed one's mind: Undo brings it back as it was; the audit trail keeps both steps.
    page.click("#void-undo")
    expect(page.locator("#driver-sessions")).to_contain_text("VOID-ME", timeout=20_000)
    expect(page.locator("#void-undo")).to_have_count(0)
    assert _imported(server, "VOID-ME") == 1
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM fleet_voided_sessions").fetchone() == (0,)
        actions = [
            a
            for (a,) in db.execute(
                "SELECT action FROM audit_events WHERE object_id = (SELECT "
                "transaction_id FROM op_charging_sessions WHERE station_id = 'VOID-ME') ORDER BY id"
            )
        ]
    assert actions == ["session.voided", "session.restored"]
