"""First render and time-to-live-update of the operator charger page and the fleet dashboard, in Chromium.

Goals (issue 13): first render < 1 s p95; an event on the CSMS visible on the open page < 2 s p95.

Starts `pipelet run` (web + CSMS, production build) on a fresh SQLite database with the demo data, and a
raw-JSON OCPP 1.6 charger (SON-CP-001, Basic auth with the demo password) on its own thread. Measures:
- first render: navigation to `/operator/chargers/SON-CP-001` until its status badge is on screen, and to
  `/fleet` until the totals and the chart are; baseline in the same run: `/account/api-keys` (the same
  shell and sign-in check, no data), so the difference is what the page's data costs;
- live update: from the moment the CSMS answered the charger (it commits before it answers) until the
  open page shows it, without reload — a StatusNotification (Faulted <-> Available) on the charger page,
  a MeterValues of the fleet driver's running session on the fleet dashboard (its OCPP total moves);
  baseline in the same run: the same kind of change seen by reloading the page (what people did before).

    .venv/bin/python benchmarks/portals/run.py [--runs 20] [--out benchmarks/portals/results.json]
    .venv/bin/python benchmarks/portals/run.py --smoke     # 2 runs of each, no file written
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks._browser_timing import Charger as RawCharger  # noqa: E402  (after the path)
from benchmarks._browser_timing import chromium, first_render, sign_in, stats  # noqa: E402
from tests.pipelet_process import running_pipelet  # noqa: E402

CHARGER = "SON-CP-001"
OPERATOR, FLEET = "operator@sonnenstrom.demo", "fleet@acme.demo"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Charger(RawCharger):
    """SON-CP-001 with a session to meter on connector 2."""

    def __init__(self, csms_port: int, password: str) -> None:
        super().__init__(csms_port, CHARGER, password)
        self.meter = 1_000_000
        self.transaction: int | None = None

    def status(self, status: str, error: str = "NoError") -> None:
        payload = {"connectorId": 1, "status": status, "errorCode": error, "timestamp": now()}
        self.run(self.cp.ok("StatusNotification", payload))

    def start(self, id_tag: str) -> None:
        answer = self.run(
            self.cp.ok(
                "StartTransaction",
                {"connectorId": 2, "idTag": id_tag, "meterStart": self.meter, "timestamp": now()},
            )
        )
        self.transaction = answer["transactionId"]

    def meter_values(self, add_wh: int) -> None:
        self.meter += add_wh
        sample = {"value": str(self.meter), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
        self.run(
            self.cp.ok(
                "MeterValues",
                {
                    "connectorId": 2,
                    "transactionId": self.transaction,
                    "meterValue": [{"timestamp": now(), "sampledValue": [sample]}],
                },
            )
        )


def text_of(page, selector: str) -> str:
    return page.locator(selector).inner_text(timeout=30_000)


# The text moved to something real: not the old one, not empty; a figure ("1,234.5 kWh", "1.234,5 kWh")
# only counts when its digits grew (one decimal either way), so a half-rendered " kWh" never passes.
MOVED = """([sel, old, numeric]) => {
  const e = document.querySelector(sel);
  if (!e) return false;
  const text = e.textContent.trim();
  if (!text || text === old.trim()) return false;
  if (!numeric) return true;
  const digits = (t) => Number(t.replace(/[^0-9]/g, "") || "NaN");
  return digits(text) > digits(old);
}"""


def wait_text_change(page, selector: str, before: str, numeric: bool, timeout_ms: float = 30_000) -> None:
    page.wait_for_function(MOVED, arg=[selector, before, numeric], polling=20, timeout=timeout_ms)


def live_change(page, selector: str, change, numeric: bool = False) -> float:
    """Seconds from the CSMS's answer to the change being on the open page (no reload)."""
    before = text_of(page, selector)
    change()
    answered = time.perf_counter()
    wait_text_change(page, selector, before, numeric)
    return time.perf_counter() - answered


def reload_change(page, selector: str, change, numeric: bool = False) -> float:
    """Baseline: the same kind of change, seen by reloading the page once the CSMS answered."""
    before = text_of(page, selector)
    change()
    answered = time.perf_counter()
    page.reload()
    wait_text_change(page, selector, before, numeric)
    return time.perf_counter() - answered


def measure(base: str, demo: dict, csms_port: int, runs: int) -> dict[str, list[float]]:
    passwords = {u["email"]: u["password"] for u in demo["users"]}
    cp_password = next(cp["password"] for cp in demo["charge_points"] if cp["id"] == CHARGER)
    out: dict[str, list[float]] = {
        k: []
        for k in (
            "charger_page_first_render_s",
            "fleet_dashboard_first_render_s",
            "baseline_api_keys_first_render_s",
            "charger_page_live_update_s",
            "charger_page_reload_baseline_s",
            "fleet_dashboard_live_update_s",
            "fleet_dashboard_reload_baseline_s",
        )
    }
    charger = Charger(csms_port, cp_password)
    try:
        charger.status("Available")
        charger.start("ACME0001")
        with chromium() as browser:
            operator = browser.new_context(viewport={"width": 1366, "height": 850}).new_page()
            sign_in(operator, base, OPERATOR, passwords[OPERATOR])
            fleet = browser.new_context(viewport={"width": 1366, "height": 850}).new_page()
            sign_in(fleet, base, FLEET, passwords[FLEET])
            charger_path = f"/operator/chargers/{CHARGER}"
            for _ in range(runs):
                out["charger_page_first_render_s"].append(
                    first_render(operator, base, charger_path, ["#charger-status", "#charger-connectors"])
                )
                out["baseline_api_keys_first_render_s"].append(
                    first_render(operator, base, "/account/api-keys", ["#api-keys"])
                )
                out["fleet_dashboard_first_render_s"].append(
                    first_render(fleet, base, "/fleet", ["#fleet-drivers", ".recharts-bar-rectangle"])
                )
            operator.goto(f"{base}{charger_path}")
            operator.locator("#charger-status").wait_for(timeout=60_000)
            fleet.goto(f"{base}/fleet")
            fleet.locator("#total-ocpp").wait_for(timeout=60_000)
            faulted = [False]

            def flip() -> None:
                faulted[0] = not faulted[0]
                charger.status("Faulted", "GroundFailure") if faulted[0] else charger.status("Available")

            for _ in range(runs):
                out["charger_page_live_update_s"].append(live_change(operator, "#charger-status", flip))
                out["fleet_dashboard_live_update_s"].append(
                    live_change(fleet, "#total-ocpp", lambda: charger.meter_values(1_000), numeric=True)
                )
            for _ in range(runs):
                out["charger_page_reload_baseline_s"].append(reload_change(operator, "#charger-status", flip))
                out["fleet_dashboard_reload_baseline_s"].append(
                    reload_change(fleet, "#total-ocpp", lambda: charger.meter_values(1_000), numeric=True)
                )
    finally:
        charger.close()
    return out


def measure_loader(env: dict, runs: int) -> dict[str, list[float]]:
    """The fleet dashboard's server side alone: its guarded loader's work (live fingerprint + the view,
    formatted) in this process on the same database, no browser, no socket. Set against the page's first
    render it tells whether a slow first render is the data or the page (front end, socket, the box)."""
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "PIPELET_SECRET_KEY")})
    from sqlmodel import select

    from pipelet_app.auth import Principal
    from pipelet_app.db import session_scope
    from pipelet_app.db.models import User
    from pipelet_app.i18n.formatting import in_locale
    from pipelet_app.portals.fleet.data import fleet_overview, live_key
    from pipelet_app.services.live_versions import versions_in

    with session_scope() as db:
        principal = Principal.of(db.exec(select(User).where(User.email == FLEET)).one())
    out: dict[str, list[float]] = {"fleet_dashboard_loader_s": [], "fleet_dashboard_loader_de_s": []}
    for _ in range(runs):
        for key, locale in (("fleet_dashboard_loader_s", "en"), ("fleet_dashboard_loader_de_s", "de")):
            started = time.perf_counter()
            with in_locale(locale), session_scope() as db:
                versions_in(db, [live_key(db, principal)])
                fleet_overview(db, principal)
            out[key].append(time.perf_counter() - started)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="2 runs of each, nothing written")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    runs = 2 if args.smoke else args.runs
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    workdir = Path(tempfile.mkdtemp(prefix="bench-portals-"))
    budgets = {"LOGIN_PER_IP_PER_MINUTE": "10000", "LOGIN_GLOBAL_PER_MINUTE": "10000"}
    with running_pipelet(workdir, budgets) as instance:
        times = measure(instance["base"], instance["demo"], instance["csms_port"], runs)
        times |= measure_loader(instance["env"], runs)
    summary: dict = {key: stats(values) for key, values in times.items()}
    summary["load_average"] = [round(x, 2) for x in os.getloadavg()]
    summary["load_average_at_start"] = load_at_start
    summary["goal_first_render_p95_under_1s"] = all(
        summary[k]["p95"] < 1.0 for k in ("charger_page_first_render_s", "fleet_dashboard_first_render_s")
    )
    summary["goal_live_update_p95_under_2s"] = all(
        summary[k]["p95"] < 2.0 for k in ("charger_page_live_update_s", "fleet_dashboard_live_update_s")
    )
    print(json.dumps(summary, indent=2))
    if args.out and not args.smoke:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
