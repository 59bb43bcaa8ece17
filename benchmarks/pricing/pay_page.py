"""First render of the public pay page at phone size (390 x 844) in Chromium; issue 15's goal: < 1 s p95.

Starts `pipelet run` (web + CSMS, production build) on a fresh SQLite database with the demo data and
localstripe as Stripe (its Stripe.js on the page, tests/fakes/localstripe_server.py), and a raw-JSON
OCPP 1.6 charger (SON-CP-003, Basic auth with the demo password) reporting connector 1 Available, so the
page offers a card. Each run opens a fresh browser context (no cache, as a phone that scans the QR code
for the first time) and measures from navigation until the price, the hold and Stripe's card Element are
on screen (the driver can pay). Baseline in the same run: the same page for a connector that does not
exist (`/pay/NO-SUCH-CP/1`): the same bundle and socket, no offer and no Stripe.js, so the difference
is what the offer and Stripe.js cost.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from benchmarks._browser_timing import Charger, chromium, p95, stats

CHARGE_POINT = "SON-CP-003"


def _render(browser, url: str, ready: list[str]) -> float:
    """A fresh browser context (no cache): a phone that scans the QR code for the first time."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url)
        for selector in ready:
            page.locator(selector).first.wait_for(timeout=60_000)
        return time.perf_counter() - started
    finally:
        context.close()


def measure(runs: int) -> dict:
    """Start everything, measure `runs` first renders of the pay page and of the baseline, stop."""
    from tests.fakes.stripe_fake import PUBLISHABLE_KEY, running_localstripe
    from tests.pipelet_process import running_pipelet

    workdir = Path(tempfile.mkdtemp(prefix="bench-pay-page-"))
    with running_localstripe() as stripe:
        env = {
            "STRIPE_API_KEY": "sk_test_bench",
            "STRIPE_API_BASE": stripe,
            "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "STRIPE_JS_URL": f"{stripe}/js.stripe.com/v3/",
        }
        with running_pipelet(workdir, env) as instance:
            password = next(
                cp["password"] for cp in instance["demo"]["charge_points"] if cp["id"] == CHARGE_POINT
            )
            charger = Charger(instance["csms_port"], CHARGE_POINT, password)
            status = {"connectorId": 1, "status": "Available", "errorCode": "NoError"}
            charger.run(charger.cp.ok("StatusNotification", status))
            pay, baseline = [], []
            try:
                with chromium() as browser:
                    base = instance["base"]
                    ready = ["#pay-hold", "#pay-card input"]  # the price, the hold, the card Element
                    _render(browser, f"{base}/pay/{CHARGE_POINT}/1", ready)  # warm the server, not timed
                    for _ in range(runs):
                        pay.append(_render(browser, f"{base}/pay/{CHARGE_POINT}/1", ready))
                        baseline.append(_render(browser, f"{base}/pay/NO-SUCH-CP/1", ["#pay-not-found"]))
            finally:
                charger.close()
    return {
        "pay_page_first_render_390px_s": stats(pay),
        "baseline_not_found_first_render_390px_s": stats(baseline),
        "goal_pay_page_p95_under_1s": p95(pay) < 1.0,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
