"""A request id for every HTTP request of the web app: on its log lines, its audit rows and its answer.

Why: one sign-in or command touches the sign-in route, the auth and audit modules and the command bus;
with the id in a context variable (`pipelet_app.logs.request_id`) every line they log carries it, and the
`X-Request-ID` answer header lets a user or a proxy's log quote it. A caller's own `X-Request-ID` is kept
when it is short and plain (a load balancer's id), so one id follows the request through both logs.
"""

from __future__ import annotations

import re
import uuid

from pipelet_app.logs import request_id
from pipelet_app.runtime.web_guard import ASGIApp, HttpMiddleware, Message, Receive, Scope, Send

_PLAIN = re.compile(rb"[A-Za-z0-9._-]{1,64}")
HEADER = b"x-request-id"


def incoming_or_new(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == HEADER and _PLAIN.fullmatch(value):
            return value.decode()
    return uuid.uuid4().hex[:16]


class RequestIds(HttpMiddleware):
    """ASGI middleware (outermost, so even a refused request has an id)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        rid = incoming_or_new(scope)
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message["headers"] = [*headers, (HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


def request_ids(app: ASGIApp) -> ASGIApp:
    return RequestIds(app)
