"""Counts and times every HTTP request of the web app (`pipelet_web_requests_total`, `..._seconds`).

Labelled by method and status only, never by path: paths carry ids (charger, statement, partner), and a
label per id would grow the metrics without bound. The time is to the start of the answer, which is what
a user waits for; a streamed PDF's body is not included.
"""

from __future__ import annotations

import time

from pipelet_app import metrics
from pipelet_app.runtime.web_guard import ASGIApp, HttpMiddleware, Message, Receive, Scope, Send

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class WebMetrics(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "GET")
        method = method if method in _METHODS else "OTHER"
        started = time.perf_counter()
        status = "500"

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
                metrics.WEB_REQUEST_SECONDS.labels(method).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            metrics.WEB_REQUESTS.labels(method, status).inc()


def web_metrics(app: ASGIApp) -> ASGIApp:
    return WebMetrics(app)
