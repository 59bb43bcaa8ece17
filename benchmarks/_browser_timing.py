"""What the browser benchmarks share (portals, pricing/pay_page, operator, fleet/dashboard): one Chromium,
one way to sign in and time a first render, one raw OCPP charger thread and one summary of the times, so
their figures are measured alike and can be set side by side."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def stats(values: list[float], unit: float = 1.0) -> dict[str, Any]:
    """p50 / p95 / max (times ``unit``: 1000 for ms) and the number of runs."""
    ordered = sorted(v * unit for v in values)
    return {
        "p50": round(ordered[len(ordered) // 2], 3),
        "p95": round(p95(ordered), 3),
        "max": round(ordered[-1], 3),
        "runs": len(ordered),
    }


@contextmanager
def chromium() -> Iterator[Any]:
    """The system's Chromium, headless, as every browser benchmark launches it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def sign_in(page: Any, base: str, email: str, password: str, timeout_ms: float = 60_000) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#login-submit")
    page.locator("#signed-in-user").wait_for(timeout=timeout_ms)


def first_render(page: Any, base: str, path: str, ready: list[str], timeout_ms: float = 60_000) -> float:
    """Seconds from navigation to ``path`` until every ``ready`` selector is on screen; the page first
    leaves for the login page, so the visit renders from scratch (signed in, the shell is not cached)."""
    return render_marks(page, base, path, ready, timeout_ms)[-1]


def render_marks(
    page: Any, base: str, path: str, ready: list[str], timeout_ms: float = 60_000
) -> list[float]:
    """`first_render`, with the seconds until each ``ready`` selector in turn (one navigation)."""
    page.goto(f"{base}/login")
    started = time.perf_counter()
    page.goto(f"{base}{path}")
    marks = []
    for selector in ready:
        page.locator(selector).first.wait_for(timeout=timeout_ms)
        marks.append(time.perf_counter() - started)
    return marks


class Charger:
    """A raw-JSON OCPP 1.6 charger, connected and booted, on its own event loop thread (the browser side is
    synchronous)."""

    def __init__(self, csms_port: int, charge_point_id: str, password: str) -> None:
        from tests.integration.ocpp.rawcp import RawChargePoint

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.cp = RawChargePoint(f"ws://127.0.0.1:{csms_port}", charge_point_id, password=password)
        self.run(self.cp.connect())
        self.run(self.cp.boot16(vendor="ABB", model="Terra AC W22"))

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def close(self) -> None:
        self.run(self.cp.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
