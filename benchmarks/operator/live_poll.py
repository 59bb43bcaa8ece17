"""What one tick of the live pages' poller costs for a large tenant (services/live_versions).

Every open live page's key is read once per second per web process (portals/live.py); the operator
console follows its whole tenant. Run on a database `run.py --keep` loaded (1,000 sites x 10 chargers x a
year of sessions):

    .venv/bin/python benchmarks/operator/live_poll.py --db bench_operator_<pid> --runs 50 [--running 2000]

`--running N` reopens the latest session of N chargers for the measurement (rolled back afterwards): a
busy evening, when the running sessions' energy is part of every tick. Prints p50 / p95 / max in ms of
the tenant's key and of one charger's key, read in one transaction as the poller does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import text
from sqlmodel import select

from benchmarks._browser_timing import stats
from pipelet_app.db import reset_engine, session_scope
from pipelet_app.db.models import User
from pipelet_app.services.live_versions import versions_in

OPERATOR = "operator@sonnenstrom.demo"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True, help="a database run.py --keep left")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--running", type=int, default=0, help="reopen this many chargers' latest session")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.db}"
    reset_engine()
    with session_scope() as db:
        tenant = db.exec(select(User.tenant_id).where(User.email == OPERATOR)).one()
        charger = db.execute(
            text("SELECT min(id), count(*) FROM chargers WHERE tenant_id = :t"), {"t": tenant}
        ).one()
        if args.running:
            db.execute(
                text(
                    "UPDATE op_charging_sessions SET end_utc = NULL WHERE id IN (SELECT max(s.id) FROM "
                    "op_charging_sessions s JOIN chargers c ON c.id = s.charger_id WHERE c.tenant_id = :t "
                    "GROUP BY s.charger_id ORDER BY s.charger_id LIMIT :n)"
                ),
                {"t": tenant, "n": args.running},
            )
        out = {"chargers": charger[1], "running_sessions": args.running}
        for name, key in (
            ("operator_key_ms", ("operator", tenant)),
            ("charger_key_ms", ("charger", charger[0])),
        ):
            versions_in(db, [key])  # warm
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                versions_in(db, [key])
                times.append((time.perf_counter() - t) * 1000)
            out[name] = stats(times)
        db.rollback()
    out["load_average"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
