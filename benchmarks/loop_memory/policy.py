"""How many loop-memory writes the surplus loop needs under `saved.save_due`, from the surplus benchmark's
days: each scenario (benchmarks/surplus: workplace and home, broken and clear day, PV-only, 10 s cycles)
runs through the simulator with the controller wrapped so that every cycle asks `save_due` as the loop
does (a send: the write-ahead and the write after it; otherwise a material change, or 60 s elapsed).
Prints, per scenario and over all, the writes per site-cycle and the writes/s that makes at 10,000 sites
and a 10 s period (over the day, and in its busiest hour: every site on the same weather), against one
write a cycle (plus the write-ahead on a send) before.

    .venv/bin/python benchmarks/loop_memory/policy.py --data ../shared/data    # both days
    .venv/bin/python benchmarks/loop_memory/policy.py --smoke                  # the committed broken day

What a cycle sends is modelled as the surplus benchmark counts profiles (`simulation._command`: a decision
that differs from the last one sent to that charger, a pause after a pause not counted); the site cap, a
charger's reboot and its answers are left out.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SURPLUS = ROOT / "benchmarks" / "surplus"
sys.path[:0] = [str(ROOT), str(SURPLUS)]

from bench_data import DAYS, SHARED, data_files  # noqa: E402
from scenarios import build  # noqa: E402

from pipelet_app.domain.surplus import Mode  # noqa: E402
from pipelet_app.domain.surplus.actuation import Sent  # noqa: E402
from pipelet_app.domain.surplus.saved import LoopMemory, save_due  # noqa: E402
from pipelet_app.domain.surplus.simulation import surplus_controller  # noqa: E402

SITES, PERIOD_S = 10_000, 10.0


def _record(command: tuple[bool, float, int]) -> Sent:
    return Sent(command[1], "A", None, "Accepted", command[2])


def count_writes(scenario: Any) -> Counter:
    """Cycles, sends and writes (by `save_due`'s reason) of one scenario's day."""
    site = scenario.site_in(Mode.PV_ONLY)
    inner = surplus_controller(site)
    counts: Counter = Counter()
    hours: Counter = Counter()
    last: dict[str, Any] = {"loop": None, "utc": None, "sent": {}}

    def controller(snapshot, memory):  # type: ignore[no-untyped-def]
        decisions, new = inner(snapshot, memory)
        now = snapshot.time_utc
        sent = dict(last["sent"])
        sending = False
        for d in decisions:  # as the simulator counts profiles (`simulation._command`)
            command = (d.charging, round(d.limit_a, 3) if d.charging else 0.0, d.phases)
            was = sent.get((d.charger_id, 1, "tx"))
            if was is None and not d.charging:
                continue  # never sent, still paused
            if was is not None and ((not d.charging and was.value == 0.0) or was == _record(command)):
                continue
            sent[(d.charger_id, 1, "tx")] = _record(command)
            sending = True
        loop = LoopMemory(new, sent)
        counts["cycles"] += 1
        hour = int(now.timestamp() // 3600)
        before = counts["writes"]
        if sending:  # the write-ahead, then the write of what the chargers answered
            counts["sends"] += 1
            counts["writes"] += 2
            counts["sending"] += 2
            last.update(loop=loop, utc=now, sent=sent)
        else:
            why = save_due(last["loop"], last["utc"], loop, now)
            if why is not None:
                counts["writes"] += 1
                counts[why] += 1
                last.update(loop=loop, utc=now)
        hours[hour] += counts["writes"] - before
        return decisions, new

    scenario.run(site, controller, PERIOD_S)
    counts["busiest_hour"] = max(hours.values())
    return counts


def line(name: str, c: Counter) -> str:
    per_cycle = c["writes"] / c["cycles"]
    before = (c["cycles"] + c["sends"]) / c["cycles"]
    return (
        f"{name:18} cycles {c['cycles']:6d}  sends {c['sends']:5d}  writes {c['writes']:5d} "
        f"(sending {c['sending']}, changed {c['changed']}, due {c['due']}, first {c['first']})  "
        f"{per_cycle:.3f}/cycle -> {per_cycle * SITES / PERIOD_S:5.0f} writes/s at {SITES:,} sites "
        f"(before: {before * SITES / PERIOD_S:.0f}); busiest hour "
        f"{c['busiest_hour'] / 360 * SITES / PERIOD_S:.0f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="the committed broken-cloud day and sessions")
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--scenarios", default="workplace,home")
    args = parser.parse_args()
    days, sessions = data_files(parser, args.smoke, args.data, DAYS)
    total: Counter = Counter()
    for day, ghi in days.items():
        for kind in args.scenarios.split(","):
            counts = count_writes(build(kind, ghi, sessions, day))
            print(line(f"{kind} {day}", counts), flush=True)
            busiest = max(total["busiest_hour"], counts["busiest_hour"])
            total += counts
            total["busiest_hour"] = busiest
    print(line("all", total))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
