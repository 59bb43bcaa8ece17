"""A driver who forgot the password gets a link by e-mail and sets a new one, in the browser (English and,
on the way back, the same pages at phone size); the link then no longer works."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Mailbox, password_of, screenshot

EMAIL = "driver@acme.demo"
LINK = re.compile(r"https?://[^\s]+(/reset-password/[A-Za-z0-9_\-]+)")


def _new_link(mailbox: Mailbox, seen: int) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        bodies = mailbox.bodies_to(EMAIL)
        if len(bodies) > seen:
            match = LINK.search(bodies[-1])
            assert match, bodies[-1]
            return match.group(1)
        time.sleep(0.2)
    raise AssertionError("no reset mail within 20 s")


def _reset(page: Page, server: dict, mailbox: Mailbox, new_password: str) -> str:
    seen = len(mailbox.bodies_to(EMAIL))
    page.goto(f"{server['base']}/login")
    page.click("#forgot-link")
    expect(page.locator("#reset-email")).to_be_visible(timeout=20_000)
    page.fill("#reset-email", EMAIL)
    page.click("#reset-ask-submit")
    expect(page.locator("#login-notice")).to_be_visible(timeout=20_000)
    path = _new_link(mailbox, seen)
    page.goto(f"{server['base']}{path}")
    expect(page.locator("#reset-for")).to_have_text(EMAIL, timeout=20_000)
    page.fill("#reset-password", new_password)
    page.click("#reset-submit")
    expect(page.locator("#login-notice")).to_be_visible(timeout=20_000)
    return path


def _signs_in(page: Page, server: dict, password: str) -> None:
    page.fill("#email", EMAIL)
    page.fill("#password", password)
    page.click("#login-submit")
    expect(page).to_have_url(re.compile(r"/driver/?$"), timeout=30_000)


def test_forgotten_password_by_mail(page: Page, server: dict, mailbox: Mailbox) -> None:
    used = _reset(page, server, mailbox, "a-new-driver-secret")
    screenshot(page, "password-reset-done")
    _signs_in(page, server, "a-new-driver-secret")
    page.goto(f"{server['base']}{used}")  # a used link shows why it no longer works
    expect(page.locator("#reset-error")).to_be_visible(timeout=20_000)
    expect(page.locator("#reset-form")).to_have_count(0)
    # Back to the demo password (the other browser tests sign in with it), at phone size.
    page.set_viewport_size({"width": 390, "height": 844})
    _reset(page, server, mailbox, password_of(server, EMAIL))
    _signs_in(page, server, password_of(server, EMAIL))
