"""Browser suite: a real `pipelet run` (production build, web + CSMS) on a temporary SQLite database,
driven by Playwright on Debian's Chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from email import message_from_string
from email.policy import default

import pytest

from tests.conftest import Inbox
from tests.fakes.stripe_fake import PUBLISHABLE_KEY, running_localstripe
from tests.pipelet_process import ROOT, free_port, running_pipelet

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "out" / "screenshots"  # pytest-playwright empties test-results/ on start


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    }


class Mailbox(Inbox):
    """The suite's SMTP server on loopback (aiosmtpd): what `pipelet run` mailed, and its SMTP_URL."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.url = f"smtp://127.0.0.1:{port}"

    def bodies_to(self, address: str) -> list[str]:
        mails = [message_from_string(raw, policy=default) for rcpt, raw in self.messages if address in rcpt]
        return [str(mail.get_body().get_content()) for mail in mails]  # type: ignore[union-attr]


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    port = free_port()
    inbox = Mailbox(port)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


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
def fake_networks() -> Iterator[dict]:
    """A fake Helios network API on loopback (tests/fakes/networks), its one transaction two hours ago on
    the wall clock; "env" points `pipelet run` at it (test_operator_networks.py)."""
    from datetime import UTC, datetime, timedelta

    from tests.fakes.networks import FakeHelios

    fake = FakeHelios().start()
    start = datetime.now(UTC) - timedelta(hours=2)
    fake.transactions[0].update(
        timestampStart=start.isoformat(), timestampStop=(start + timedelta(hours=1)).isoformat()
    )
    try:
        yield {"env": {"HELIOS_API_BASE": fake.url}, "helios": fake}
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    fake_inverters: dict,
    fake_networks: dict,
    localstripe: str,
    mailbox: Mailbox,
) -> Iterator[dict]:
    """`pipelet run` as a user starts it; yields its base URL, CSMS port and the demo document."""
    env = {
        **fake_inverters["env"],
        **fake_networks["env"],
        "STRIPE_API_KEY": "sk_test_e2e",  # card payments against localstripe (tests/fakes/stripe_fake.py)
        "STRIPE_API_BASE": localstripe,
        "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,  # the pay page's Stripe.js: localstripe's, extended
        "STRIPE_JS_URL": f"{localstripe}/js.stripe.com/v3/",
        "SMTP_URL": mailbox.url,  # invitations, password resets, receipts: read back from `mailbox`
        # the whole browser suite signs in from 127.0.0.1, far above one person's budget; the budgets
        # themselves are tested in tests/integration/security
        "LOGIN_PER_IP_PER_MINUTE": "10000",
        "LOGIN_GLOBAL_PER_MINUTE": "10000",
        # unknown charge point ids register themselves unclaimed, as on a site being set up: the
        # onboarding path claims one that just connected (test_operator_reports.py)
        "CSMS_AUTO_REGISTER": "1",
    }
    with running_pipelet(tmp_path_factory.mktemp("e2e"), env) as server:
        yield server


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


def open_signed_in(page, url: str) -> None:
    """Open a signed-in page and wait until its state has arrived (the header names the user only then).

    Why: what a test types into a form before the page has hydrated is lost when React takes the page
    over (a claim's charger id, a chosen CSV file): on a busy machine that took longer than the test's
    next step, and the form then submitted nothing (fresh-clone CI, sessions 11 and 12)."""
    page.goto(url)
    page.locator("#signed-in-user").wait_for(state="attached", timeout=30_000)


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
    received, send = tap_event_socket(page)
    sign_in(page, server, email)
    page.locator("#signed-in-user").wait_for(timeout=20_000)
    page.wait_for_timeout(500)
    received.clear()
    send(f"{state.get_full_name()}.{handler}", payload or {}, path)
    page.wait_for_timeout(2_000)
    return "".join(received)


def tap_event_socket(page) -> tuple[list[str], Callable[[str, dict, str], None]]:
    """Route the page's own `/_event` socket through the test (before the page opens it): every frame the
    server sends is appended to the list returned, and the function returned sends a state event
    (full name, payload, the page's path) on it as a tampered client could."""
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

    def send(name: str, payload: dict, path: str) -> None:
        event = {
            "name": name,
            "payload": payload,
            "router_data": {"pathname": path, "query": {}, "asPath": path},
        }
        sockets["upstream"].send("42/_event," + json.dumps(["event", event]))

    page.route_web_socket(re.compile("/_event"), route)
    return received, send
