"""What bounded TxProfiles cost: profiles per car-hour the surplus loop sends, with and without renewal.

    .venv/bin/python benchmarks/surplus/renewals.py --smoke            # broken-cloud day, committed sample
    .venv/bin/python benchmarks/surplus/renewals.py --days broken,clear

Why: every TxProfile carries a schedule `duration` (SURPLUS_TX_VALIDITY_S, 300 s) so that a dead loop's
limits lapse to the baseline, and the live loop sends an unchanged one again once less than a lease is
left (docs/surplus-actuation.md, "Bounded TxProfiles"). `actuation.renewals_per_hour` gives the upper
bound for a limit that never changes; this runs the benchmark's days through the simulator with
Pipelet's controller and counts, per connector in a transaction, the TxProfiles the loop's rules send
(`needs_sending`: a new car or a changed limit or phase count, a pause included; `renewal_due`: the same
limit again, not for a TxProfile at the PV-only baseline's 0 A, which lapses to the same limit), so the
figure includes the renewals that a change of limit made unnecessary. The last column renews 0 A too.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]

from bench_data import SHARED, data_files  # noqa: E402
from scenarios import build  # noqa: E402

from pipelet_app.domain.surplus import Mode  # noqa: E402
from pipelet_app.domain.surplus.actuation import Sent, needs_sending, renewal_due  # noqa: E402
from pipelet_app.domain.surplus.simulation import surplus_controller  # noqa: E402

LEASE_INTERVALS = 3  # actuation.loop: a lease is three control intervals


@dataclass
class Counter:
    """Wraps the controller and counts the TxProfiles the loop would send for its decisions."""

    controller: Any
    validity_s: float
    lease_s: float
    control_s: float
    #: what a lapsed TxProfile falls back to (PV-only: every baseline is 0 A); None: renew regardless
    fallback: float | None = None
    changes: int = 0
    renewals: int = 0
    car_cycles: int = 0
    sent: dict[str, Sent] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    connected: dict[str, bool] = field(default_factory=dict)

    def __call__(self, snapshot, memory):  # the simulator's Controller signature
        decisions, memory = self.controller(snapshot, memory)
        now: datetime = snapshot.time_utc
        inputs = {c.charger_id: c for c in snapshot.chargers}
        for decision in decisions:
            charger = inputs[decision.charger_id]
            cid = decision.charger_id
            if not charger.connected:
                self.connected[cid] = False
                continue
            if not self.connected.get(cid):  # a new car: a new transaction
                self.sessions[cid] = self.sessions.get(cid, 0) + 1
                self.connected[cid] = True
            self.car_cycles += 1
            tx = f"{cid}:{self.sessions[cid]}"
            value = round(decision.limit_a, 1) if decision.charging else 0.0
            phases = decision.phases if charger.can_switch_phases else None
            last = self.sent.get(cid)
            if needs_sending(last, value, "A", tx, phases):
                self.changes += 1
            elif renewal_due(last, now, self.validity_s, self.lease_s, self.fallback):
                self.renewals += 1
            else:
                continue
            self.sent[cid] = Sent(value, "A", tx, "Accepted", phases, now)
        return decisions, memory

    def summary(self) -> dict[str, float]:
        hours = self.car_cycles * self.control_s / 3600.0
        return {
            "car_hours": round(hours, 1),
            "changes_per_car_h": round(self.changes / hours, 1) if hours else 0.0,
            "renewals_per_car_h": round(self.renewals / hours, 1) if hours else 0.0,
            "renewal_share": round(self.renewals / max(1, self.changes + self.renewals), 3),
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="broken-cloud day from the committed sample")
    parser.add_argument("--days", default="broken,clear")
    parser.add_argument("--scenarios", default="workplace,home")
    parser.add_argument("--control-s", default="10,30", help="control intervals to try (s)")
    parser.add_argument("--validity-s", type=float, default=300.0)
    parser.add_argument("--data", type=Path, default=SHARED)
    args = parser.parse_args()
    days, sessions = data_files(parser, args.smoke, args.data, args.days.split(","))
    print(
        f"{'scenario':<10} {'day':<7} {'ctrl s':>6} {'car h':>6} {'changes/car-h':>13} "
        f"{'renewals/car-h':>14} {'(renewing 0 A too)':>18}"
    )
    for day, ghi in days.items():
        for kind in args.scenarios.split(","):
            scenario = build(kind, ghi, sessions, day)
            site = scenario.site_in(Mode.PV_ONLY)
            for control_s in (float(c) for c in args.control_s.split(",")):
                lease = LEASE_INTERVALS * control_s
                runs = []
                for fallback in (0.0, None):  # as the loop does (PV-only baseline 0 A); without that rule
                    counter = Counter(surplus_controller(site), args.validity_s, lease, control_s, fallback)
                    scenario.run(site, counter, control_s)
                    runs.append(counter.summary())
                s, every = runs
                print(
                    f"{kind:<10} {day:<7} {control_s:>6g} {s['car_hours']:>6} "
                    f"{s['changes_per_car_h']:>13} {s['renewals_per_car_h']:>14} "
                    f"{every['renewals_per_car_h']:>18}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
