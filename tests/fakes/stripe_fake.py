"""localstripe (a Stripe fake over HTTP, PyPI `localstripe`) on a loopback port, for payment tests.

It serves Stripe's own request/response shapes for payment methods and PaymentIntents (manual capture,
capture with amount_to_capture, cancel) and declines the documented test cards
(4000000000000341: declined when charged), and (tests/fakes/localstripe_server.py) the client-side
confirmation Stripe.js makes with the publishable key and the intent's client_secret. It does not implement
idempotency keys itself; that our requests carry them is checked through a recording proxy in front of it
(tests/integration/ocpp/test_csms_payments.py).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.pipelet_process import free_port


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


_SERVER = Path(__file__).with_name("localstripe_server.py")  # in-memory store, client-side confirm


@contextmanager
def running_localstripe() -> Iterator[str]:
    """localstripe on a free loopback port until the block ends; yields its base URL."""
    try:
        import localstripe  # noqa: F401
    except ImportError:
        pytest.skip("localstripe is not installed (pip install localstripe)")
    # The port is free when chosen, but the server binds it only after its imports (seconds on a loaded
    # box), and on every address: another process may take it meanwhile. Then it is tried on another.
    for attempt in range(5):
        port = free_port()
        log = tempfile.NamedTemporaryFile("w+", prefix="localstripe-", suffix=".log", delete=False)  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, str(_SERVER), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT
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
                    output = log.read()[-2000:]
                    log.close()
                    Path(log.name).unlink(missing_ok=True)
                    if "Address already in use" in output and attempt < 4:
                        break
                    raise RuntimeError(f"localstripe did not start: {output}") from None
                time.sleep(0.2)
        if process.poll() is None:
            break
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


PUBLISHABLE_KEY = "pk_test_pipelet"


def browser_confirm(stripe_base: str, client_secret: str, card: str, exp: str = "12/30") -> dict:
    """What Stripe.js's `confirmCardPayment` sends from the driver's browser straight to Stripe (the card
    never passes through our server): the publishable key, the intent's client_secret and the card as
    `payment_method_data`. Answers Stripe's JSON (the intent, or `{"error": ...}` for a declined card)."""
    month, year = exp.split("/")
    intent = client_secret.split("_secret_")[0]
    answer = httpx.post(
        f"{stripe_base}/v1/payment_intents/{intent}/confirm",
        data={
            "key": PUBLISHABLE_KEY,
            "client_secret": client_secret,
            "payment_method_data[type]": "card",
            "payment_method_data[card][number]": card,
            "payment_method_data[card][exp_month]": month,
            "payment_method_data[card][exp_year]": year,
            "payment_method_data[card][cvc]": "123",
        },
        timeout=10,
    )
    return answer.json()
