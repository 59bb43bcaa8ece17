"""The web app's outer layer: security headers on every answer, and no cross-origin writes or sockets.

Wraps the whole ASGI app (Reflex pages, its event socket, `/api/v1`, `/auth`), so no route can forget it.

- Headers: a CSP (scripts only from here, and Stripe.js when card payments are on; Reflex's
  `call_script` needs 'unsafe-eval' and its build inline scripts), `frame-ancestors 'none'`, nosniff,
  a same-origin Referer (invitation links carry tokens), and HSTS when `PUBLIC_URL` is https.
- Writes (POST/PUT/PATCH/DELETE) without an `Authorization` header ride on the browser's cookie, so they
  must come from a page of this origin: `Origin` (or, without it, `Sec-Fetch-Site`) is checked. SameSite
  alone is not enough: a page on another port of the same host is "same-site". Requests without either
  header come from programs, not browsers, and carry no ambient cookie to abuse. API-key callers send
  `Authorization` and may come from any origin `CORS_ALLOW_ORIGINS` lets read the answer.
- The event socket authenticates with the cookie too, so its handshake must come from this origin.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from pipelet_app.settings import get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HSTS = "max-age=31536000; includeSubDomains"


@lru_cache(maxsize=8)
def csp(stripe_js_url: str = "") -> str:
    """The policy; with card payments on (a Stripe.js URL given), Stripe's origins as Stripe documents
    them for Elements (https://docs.stripe.com/security/guide#content-security-policy): its script and
    frames from the Stripe.js origin (and hooks.stripe.com for 3-D Secure), its API calls to
    api.stripe.com; a local fake (localstripe) serves all three from its own origin."""
    stripe = _origin_of(stripe_js_url) if stripe_js_url else ""
    script = frame = connect = ""
    if stripe:
        hosted = stripe == "https://js.stripe.com"
        script = f" {stripe}"
        frame = f" {stripe} https://hooks.stripe.com" if hosted else f" {stripe}"
        connect = " https://api.stripe.com" if hosted else f" {stripe}"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'unsafe-inline' 'unsafe-eval'{script}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            f"connect-src 'self'{connect}",
            f"frame-src 'self'{frame}" if frame else "frame-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


CSP = csp()


def security_headers(https: bool) -> list[tuple[bytes, bytes]]:
    settings = get_settings()
    policy = csp(settings.stripe_js_url if settings.stripe_publishable_key else "")
    headers = [
        (b"content-security-policy", policy.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def same_origin(scope: Scope, public_url: str = "") -> bool:
    """Did a page of this origin send the request? (True for non-browser clients that send neither header.)

    The browser's `Origin` is compared with the `Host` it addressed (the scheme may differ behind a
    TLS-terminating proxy) and with `PUBLIC_URL`; `Origin: null` (sandboxed frames, file://) never passes.
    """
    origin = _header(scope, b"origin")
    if origin is None:
        site = _header(scope, b"sec-fetch-site")
        return site is None or site in ("same-origin", "none")
    origin = origin.strip().lower()
    if origin == "null":
        return False
    if public_url and origin == _origin_of(public_url):
        return True
    host = (_header(scope, b"host") or "").strip().lower()
    return bool(host) and urlsplit(origin).netloc == host


def _refusal(message: str) -> bytes:
    return json.dumps({"error": {"status": 403, "message": message}}).encode()


class HttpMiddleware:
    """ASGI middleware for HTTP requests only: lifespan and websocket traffic go straight to the wrapped
    app. A subclass answers `http`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class WebGuard:
    """ASGI middleware; `api_transformer` applies it around the whole app (see pipelet_app.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        if scope["type"] == "websocket":
            if not same_origin(scope, settings.public_url):
                await send({"type": "websocket.close", "code": 1008, "reason": "cross-origin socket"})
                return
            await self.app(scope, receive, send)
            return
        if (
            scope.get("method") in UNSAFE_METHODS
            and _header(scope, b"authorization") is None
            and not same_origin(scope, settings.public_url)
        ):
            body = _refusal(
                "Origin: cross-origin writes with the browser's session are refused; "
                "use an API key (Authorization: Bearer) from other origins."
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        *security_headers(settings.https),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        extra = security_headers(settings.https)
        names = {name for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


def web_guard(app: ASGIApp) -> ASGIApp:
    return WebGuard(app)
