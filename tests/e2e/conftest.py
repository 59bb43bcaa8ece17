"""Browser suite: a real `pipelet run` (production build, web + CSMS) on a temporary SQLite database,
driven by Playwright on Debian's Chromium."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "out" / "screenshots"  # pytest-playwright empties test-results/ on start


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pipelet run exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    }


@pytest.fixture(scope="session")
def fake_inverters() -> Iterator[dict]:
    """Fake Enphase and SolarEdge clouds on loopback, on the wall clock, each wallbox with 5 past sessions.

    Yields the environment that points `pipelet run` at them (base URLs, Enphase app credentials) under
    "env", and per brand the fake itself and credentials that work.
    """
    from datetime import UTC, datetime, timedelta

    from tests.fakes.inverters import HARNESSES, enphase

    fakes, out, env = [], {}, {"PV_SCHEDULER_TICK_S": "2"}
    for brand in ("enphase", "solaredge"):
        harness = HARNESSES[brand]
        fake = harness.make_fake().start()
        fakes.append(fake)
        wallbox = harness.wallbox(fake)
        start = datetime.now(UTC) - timedelta(hours=31)
        fake.clock.set(start)
        wallbox.readings[:] = [(start.timestamp(), wallbox.lifetime_wh)]
        for i in range(5):
            wallbox.charge(minutes=60 + 15 * i, power_w=7_400)
            wallbox.advance(5 * 3600)
        fake.clock.follow_real_time()
        env[f"{brand.upper()}_API_BASE"] = fake.base_url
        out[brand] = {"fake": fake, "credentials": harness.good_credentials(fake), "serial": wallbox.serial}
    env |= {
        "ENPHASE_API_KEY": enphase.API_KEY,
        "ENPHASE_CLIENT_ID": enphase.CLIENT_ID,
        "ENPHASE_CLIENT_SECRET": enphase.CLIENT_SECRET,
    }
    try:
        yield {"env": env, **out}
    finally:
        for fake in fakes:
            fake.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, fake_inverters: dict) -> Iterator[dict]:
    """`pipelet run` as a user starts it; yields its base URL, CSMS port and the demo document."""
    workdir = tmp_path_factory.mktemp("e2e")
    web_port, csms_port = 3000 + _free_port() % 1000, _free_port()
    env = {
        **os.environ,
        **fake_inverters["env"],
        "DATABASE_URL": f"sqlite:///{workdir / 'pipelet.db'}",
        "PIPELET_SECRET_KEY": "e2e-secret",
        "WEB_PORT": str(web_port),
        "CSMS_PORT": str(csms_port),
        "REFLEX_USE_SYSTEM_BUN": "1",
        # the whole browser suite signs in from 127.0.0.1, far above one person's budget; the budgets
        # themselves are tested in tests/integration/security
        "LOGIN_PER_IP_PER_MINUTE": "10000",
        "LOGIN_GLOBAL_PER_MINUTE": "10000",
    }
    log = open(workdir / "pipelet-run.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelet_app.cli.main", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://localhost:{web_port}"
    try:
        _wait_for(f"{base}/api/v1/health", 600, proc)
        _wait_for(f"{base}/login", 120, proc)
        demo = json.loads(
            subprocess.run(
                [sys.executable, "-m", "pipelet_app.cli.main", "seed-demo", "--json"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        yield {
            "base": base,
            "csms_port": csms_port,
            "demo": demo,
            "env": env,
            "proc": proc,
            "log": workdir / "pipelet-run.log",
        }
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="session")
def base_url(server: dict) -> str:
    return server["base"]


def password_of(server: dict, email: str) -> str:
    return next(u["password"] for u in server["demo"]["users"] if u["email"] == email)


def sign_in(page, server: dict, email: str) -> None:
    page.goto(f"{server['base']}/login")
    page.fill("#email", email)
    page.fill("#password", password_of(server, email))
    page.click("#login-submit")


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def forge_event(
    page,
    server: dict,
    email: str,
    state: type,
    handler: str = "load",
    payload: dict | None = None,
    path: str = "/",
) -> str:
    """Sign in as `email`, then send `state.<handler>` straight over the page's own authenticated socket,
    as a tampered client could; returns everything the server sent back afterwards."""
    received: list[str] = []
    sockets: dict = {}

    def route(ws) -> None:
        upstream = ws.connect_to_server()
        sockets["upstream"] = upstream
        ws.on_message(upstream.send)

        def from_server(message) -> None:
            received.append(message if isinstance(message, str) else message.decode())
            ws.send(message)

        upstream.on_message(from_server)

    page.route_web_socket(re.compile("/_event"), route)
    sign_in(page, server, email)
    page.locator("#signed-in-user").wait_for(timeout=20_000)
    page.wait_for_timeout(500)
    received.clear()
    event = {
        "name": f"{state.get_full_name()}.{handler}",
        "payload": payload or {},
        "router_data": {"pathname": path, "query": {}, "asPath": path},
    }
    sockets["upstream"].send("42/_event," + json.dumps(["event", event]))
    page.wait_for_timeout(2_000)
    return "".join(received)
