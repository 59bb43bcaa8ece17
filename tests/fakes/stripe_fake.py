"""localstripe (a Stripe fake over HTTP, PyPI `localstripe`) on a loopback port, for payment tests.

It serves Stripe's own request/response shapes for payment methods and PaymentIntents (manual capture,
capture with amount_to_capture, cancel) and declines the documented test cards
(4000000000000341: declined when charged). It does not implement idempotency keys itself; that our
requests carry them is checked through a recording proxy in front of it
(tests/integration/ocpp/test_csms_payments.py).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


# localstripe keeps its store in /tmp/localstripe.pickle, one file for every instance on the machine, and
# rewrites it on each change: two instances (parallel test runs) corrupt each other ("EOFError: Ran out
# of input" at start) and a test could see another's objects. Ours keep their store in memory only.
_IN_MEMORY = (
    "import sys; import localstripe.resources as r; "
    "r.Store.try_load_from_disk = lambda self: None; r.Store.dump_to_disk = lambda self: None; "
    "from localstripe.server import start; sys.exit(start())"
)


@contextmanager
def running_localstripe() -> Iterator[str]:
    """localstripe on a free loopback port until the block ends; yields its base URL."""
    try:
        import localstripe  # noqa: F401
    except ImportError:
        pytest.skip("localstripe is not installed (pip install localstripe)")
    port = _free_port()
    log = tempfile.NamedTemporaryFile("w+", prefix="localstripe-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-c", _IN_MEMORY, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # an import under a loaded box's CPU can take long
    while True:
        try:
            httpx.get(f"{url}/v1/customers", auth=("sk_test_x", ""), timeout=2)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                log.seek(0)
                raise RuntimeError(f"localstripe did not start: {log.read()[-2000:]}") from None
            time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        Path(log.name).unlink(missing_ok=True)


class RecordingProxy:
    """A loopback HTTP proxy in front of the fake that records (method, path, Idempotency-Key) of every
    request, so a test can see what actually went over the wire."""

    def __init__(self, upstream: str) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.seen: list[tuple[str, str, str | None]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.seen.append((self.command, self.path, self.headers.get("idempotency-key")))
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                answer = httpx.request(self.command, upstream + self.path, content=body, headers=headers)
                self.send_response(answer.status_code)
                for name in ("content-type", "request-id"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
