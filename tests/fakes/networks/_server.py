"""A fake charging-network API on loopback: a real HTTP server in a thread, as the inverter fakes.

Each network's fake (``loop.py``, ``evrange.py``, ``chargepoint.py``, ``helios.py``) builds its answers from
the example payloads under ``tests/fixtures/vendors/<network>/`` (see their SOURCE.md) and keeps a small
world tests change: ``chargers`` and ``sessions`` (lists of dicts in the network's own shape) and a page
size. Faults are queued per path: ``fake.inject("sessions", "429", times=1)``; kinds: ``"401"``,
``"429"`` (with ``Retry-After``), ``"500"``, ``"html"`` (a maintenance page), ``"changed"`` (the list's
envelope renamed: a changed API).
"""

from __future__ import annotations

import copy
import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vendors"


def fixture(network: str, name: str) -> Any:
    text = (FIXTURES / network / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else text


def _after(row: dict[str, Any], key: str, since: Any) -> bool:
    """The network's own time filter; a row without the time (a test's broken row) is served anyway."""
    from pipelet_app.inverters.base import parse_time

    return row.get(key) is None or parse_time(row[key]) >= since


class Reply:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.headers = status, body, dict(headers or {})


class FakeNetwork:
    """Base: start/stop, fault queue, request log. Subclasses implement :meth:`route`."""

    network = ""

    def __init__(self) -> None:
        self.faults: deque[tuple[str, str, int]] = deque()
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.page_size = 100
        self.retry_after = "2"
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    # ---- control -------------------------------------------------------------------------------

    def inject(self, match: str, kind: str, times: int = 1) -> None:
        self.faults.append((match, kind, times))

    def start(self) -> FakeNetwork:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _do(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = fake.dispatch(method, parts.path, parse_qs(parts.query), dict(self.headers), body)
                payload = reply.body
                if isinstance(payload, dict | list):
                    data = json.dumps(payload).encode()
                    reply.headers.setdefault("Content-Type", "application/json")
                else:
                    data = (payload or "").encode()
                    reply.headers.setdefault("Content-Type", "text/xml; charset=utf-8")
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._do("GET")

            def do_POST(self) -> None:
                self._do("POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeNetwork:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- serving -------------------------------------------------------------------------------

    def _fault(self, key: str) -> str | None:
        with self._lock:
            for index, (match, kind, times) in enumerate(self.faults):
                if match in key:
                    if times <= 1:
                        del self.faults[index]
                    else:
                        self.faults[index] = (match, kind, times - 1)
                    return kind
        return None

    def dispatch(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Reply:
        self.requests.append((method, path, query))
        key = self.fault_key(path, body)
        fault = self._fault(key)
        if fault == "401":
            return Reply(401, {"error": "unauthorized"})
        if fault == "429":
            return Reply(429, {"error": "too many requests"}, {"Retry-After": self.retry_after})
        if fault == "500":
            return Reply(500, {"error": "internal"})
        if fault == "html":
            return Reply(503, "<html><body>Maintenance</body></html>", {"Content-Type": "text/html"})
        reply = self.route(method, path, query, {k.lower(): v for k, v in headers.items()}, body)
        if fault == "changed":
            reply = self.changed(reply)
        return reply

    def fault_key(self, path: str, body: bytes) -> str:
        return path

    def changed(self, reply: Reply) -> Reply:
        """The same answer with its list under another name (an API that changed)."""
        if isinstance(reply.body, dict):
            body = copy.deepcopy(reply.body)
            for name in ("data", "items"):
                if name in body:
                    body[f"{name}_v2"] = body.pop(name)
            reply.body = body
        return reply

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Reply:
        raise NotImplementedError

    @staticmethod
    def page(rows: list[Any], start: int, size: int) -> tuple[list[Any], bool]:
        chunk = rows[start : start + size]
        return chunk, start + size < len(rows)
