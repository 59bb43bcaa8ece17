"""A local stand-in for aWATTar's public market-data API over real HTTP (loopback, free port).

Serves `GET /v1/marketdata?start=<ms>&end=<ms>` from a saved answer of the documented shape
(tests/fixtures/tariffs/awattar), returning the slots that overlap the span as aWATTar does; a bad
parameter is a 400. `status` and `body` let a test make it fail the ways a real server can.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import serving

FIXTURE = Path(__file__).parents[1] / "fixtures" / "tariffs" / "awattar" / "marketdata_2018-10-14.json"


@dataclass
class FakeAwattar:
    url: str
    document: dict[str, Any]
    status: int = 200
    body: bytes | None = None  # served as is instead of the document when set
    requests: list[dict[str, list[str]]] = field(default_factory=list)


@contextmanager
def running_awattar(fixture: Path = FIXTURE) -> Iterator[FakeAwattar]:
    fake = FakeAwattar("", json.loads(fixture.read_text()))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            fake.requests.append(query)
            if parts.path != "/v1/marketdata":
                return self._send(404, b'{"error": "not found"}')
            if fake.status != 200 or fake.body is not None:
                return self._send(fake.status, fake.body or b"{}")
            try:
                start = int(query["start"][0])
                end = int(query["end"][0])
            except (KeyError, ValueError):
                return self._send(400, b'{"error": "start and end must be epoch milliseconds"}')
            slots = [
                slot
                for slot in fake.document["data"]
                if slot["end_timestamp"] > start and slot["start_timestamp"] < end
            ]
            return self._send(200, json.dumps({**fake.document, "data": slots}).encode())

    with serving(Handler) as url:
        fake.url = url
        yield fake
