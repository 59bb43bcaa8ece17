"""The same-origin rule of the web guard, the HTTP-only middlewares' pass-through, and the log redaction of
event payloads and passwords."""

from __future__ import annotations

import logging

import pytest

from pipelet_app.api.errors import RequestGuard
from pipelet_app.runtime.log_redaction import RedactSecrets, redact
from pipelet_app.runtime.request_ids import RequestIds
from pipelet_app.runtime.web_guard import HttpMiddleware, same_origin
from pipelet_app.runtime.web_metrics import WebMetrics


def scope(**headers: str) -> dict:
    return {"headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}


@pytest.mark.parametrize(
    "headers,public_url,ok",
    [
        ({"host": "app:3000", "origin": "http://app:3000"}, "", True),
        ({"host": "app:3000", "origin": "https://app:3000"}, "", True),  # TLS ends at a proxy
        ({"host": "app:3000", "origin": "http://app:3001"}, "", False),  # another port: same-site only
        ({"host": "app:3000", "origin": "http://evil.example"}, "", False),
        ({"host": "app:3000", "origin": "null"}, "", False),
        ({"host": "internal:3000", "origin": "https://pipelet.example"}, "https://pipelet.example/", True),
        ({"host": "app:3000", "sec_fetch_site": "same-origin"}, "", True),
        ({"host": "app:3000", "sec_fetch_site": "none"}, "", True),  # typed into the address bar
        ({"host": "app:3000", "sec_fetch_site": "same-site"}, "", False),
        ({"host": "app:3000", "sec_fetch_site": "cross-site"}, "", False),
        ({"host": "app:3000"}, "", True),  # a program, not a browser: no ambient cookie to abuse
    ],
)
def test_same_origin(headers: dict, public_url: str, ok: bool) -> None:
    assert same_origin(scope(**headers), public_url) is ok


@pytest.mark.parametrize("middleware", [RequestGuard, RequestIds, WebMetrics])
@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
async def test_http_middlewares_hand_other_traffic_through_untouched(
    middleware: type[HttpMiddleware], kind: str
) -> None:
    seen: list[tuple] = []

    async def app(scope: dict, receive: object, send: object) -> None:
        seen.append((scope, receive, send))

    async def receive() -> dict:
        raise AssertionError("the middleware read the request")

    async def send(message: dict) -> None:
        raise AssertionError("the middleware answered")

    traffic = {"type": kind, "headers": [(b"content-type", b"application/json"), (b"x-request-id", b"r1")]}
    await middleware(app)(traffic, receive, send)
    assert seen == [(traffic, receive, send)]


def test_event_payloads_and_passwords_are_cut_from_log_records() -> None:
    record = logging.LogRecord(
        "reflex.app",
        logging.WARNING,
        __file__,
        1,
        "Received event from session %s with no associated token. Event data: %s",
        ("sid1", {"payload": {"form": {"password": "hunter2-secret"}}}),
        None,
    )
    assert RedactSecrets().filter(record)
    assert "hunter2" not in record.getMessage() and record.getMessage().endswith("Event data: <redacted>")
    assert "hunter2" not in redact("{'email': 'a@b', 'password': 'hunter2'} new_password=hunter2&x=1")
    cleaned = redact("{'card': '4242 4242 4242 4242', 'cvc': '123', 'expiry': '12/30'}")
    assert "4242" not in cleaned and "123" not in cleaned and "12/30" in cleaned


def test_the_policy_lets_stripe_js_in_only_when_card_payments_are_on() -> None:
    from pipelet_app.runtime.web_guard import csp

    off = csp("")
    assert "stripe" not in off and "script-src 'self' 'unsafe-inline' 'unsafe-eval';" in off
    hosted = csp("https://js.stripe.com/v3/")
    assert "script-src 'self' 'unsafe-inline' 'unsafe-eval' https://js.stripe.com;" in hosted
    assert "frame-src 'self' https://js.stripe.com https://hooks.stripe.com;" in hosted
    assert "connect-src 'self' https://api.stripe.com;" in hosted
    fake = csp("http://127.0.0.1:8420/js.stripe.com/v3/")  # localstripe: script and API on one origin
    assert "script-src 'self' 'unsafe-inline' 'unsafe-eval' http://127.0.0.1:8420;" in fake
    assert "connect-src 'self' http://127.0.0.1:8420;" in fake
