"""CSMS throughput, latency and memory per connection, side by side with the bare `ocpp` loop.

N raw-JSON chargers (one asyncio process, the load generator) connect to a server process and send
MeterValues. Two load shapes:
- saturation: every charger sends its next MeterValues as soon as the previous one is answered
  (calls/s at saturation; the goal is >= 60 % of the bare loop's);
- paced: every charger sends one MeterValues per `--interval` seconds, start times spread evenly
  (p99 latency at a realistic load; the goal is < 200 ms at 10,000 chargers x one per 30 s).
Memory per connection = (server RSS with N sockets - RSS before) / N.
`--storm` adds a reconnect storm: every charger drops and reconnects within `--storm-window` seconds;
all must be back and no charger row may be duplicated.
`--auth none` (default): the BENCH chargers are set to auth mode "none", so both servers do the same
work per connection (the bare loop has no authentication) and the comparison stays fair. `--auth basic`
gives every BENCH charger a password (one hash shared by all rows, user = its id) and the load
generator sends it: it measures what Basic auth costs the CSMS (one argon2 check per charger per node,
after which the node remembers the credentials); the bare loop ignores the header.

    .venv/bin/python benchmarks/csms/run.py --smoke
    .venv/bin/python benchmarks/csms/run.py --chargers 1000 --duration 20
    .venv/bin/python benchmarks/csms/run.py --chargers 10000 --mode paced --interval 30 --duration 60 \\
        --database-url postgresql://postgres@127.0.0.1:5432/pipelet_bench_csms --storm
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


PACED_LEAD_S = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def now_z() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Result:
    server: str
    chargers: int
    connected: int
    mode: str
    calls: int
    errors: int
    seconds: float
    calls_per_s: float
    p50_ms: float
    p99_ms: float
    rss_per_connection_kib: float


STORM_CHECK = """
from sqlalchemy import text
from pipelet_app.db import session_scope
with session_scope() as s:
    online = s.execute(text(
        "SELECT count(*) FROM chargers WHERE charge_point_id LIKE 'BENCH-%' AND is_online"
    ))
    dup = s.execute(text(
        "SELECT count(*) FROM (SELECT charge_point_id FROM chargers"
        " GROUP BY charge_point_id HAVING count(*) > 1) d"
    ))
    print(online.one()[0], dup.one()[0])
"""


def create_postgres_database(url: str) -> None:
    """CREATE DATABASE when a PostgreSQL URL names one that does not exist yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    target = make_url(url)
    try:
        create_engine(target).connect().close()
        return
    except OperationalError:
        pass
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


BENCH_PASSWORD = "bench-password-0123456789"


def prepare_database(url: str, chargers: int, auth: str) -> None:
    """Migrate, and register BENCH-0..N-1 (bulk insert: registration is not what is measured) with the
    chosen auth mode; existing BENCH rows are switched to it."""
    if url.startswith("postgresql"):
        create_postgres_database(url)
    env = {**os.environ, "DATABASE_URL": url, "PIPELET_SECRET_KEY": "bench"}
    code = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from sqlalchemy import insert, text
from pipelet_app.cli.db import upgrade_database
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger
from pipelet_app.ocpp.identity import hash_password
upgrade_database()
auth = {auth!r}
password_hash = hash_password({BENCH_PASSWORD!r}) if auth == "basic" else None
with session_scope() as s:
    s.execute(text("DELETE FROM ocpp_messages"))
    s.execute(text("DELETE FROM meter_values"))
    existing = {{r[0] for r in s.execute(text("SELECT charge_point_id FROM chargers"))}}
    rows = [dict(charge_point_id=f"BENCH-{{i}}", vendor="", model="", serial_number="", firmware_version="",
                 ocpp_version="", status="Unknown", is_online=False, local_list_version=0,
                 auth_mode=auth, basic_auth_hash=password_hash)
            for i in range({chargers}) if f"BENCH-{{i}}" not in existing]
    if rows:
        s.execute(insert(Charger), rows)
    s.execute(text("UPDATE chargers SET auth_mode = :m, basic_auth_hash = :h"
                   " WHERE charge_point_id LIKE 'BENCH-%'"), {{"m": auth, "h": password_hash}})
"""
    subprocess.run([PYTHON, "-c", code], env=env, check=True, cwd=ROOT)


def start_server(
    kind: str, port: int, database_url: str, extra_env: dict[str, str]
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PIPELET_SECRET_KEY": "bench",
        "CSMS_PORT": str(port),
        "CSMS_PING_INTERVAL_S": "30",
        **extra_env,
    }
    if kind == "csms":
        cmd = [
            PYTHON,
            str(ROOT / "csms_server.py"),
            "--no-migrate",
            "--host",
            "127.0.0.1",
            "--log-level",
            "ERROR",
        ]
    else:
        cmd = [PYTHON, str(Path(__file__).parent / "bare_server.py"), str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{kind} server did not start")


class Charger:
    basic_auth = False  # set by main() for --auth basic

    def __init__(self, port: int, index: int) -> None:
        self.url = f"ws://127.0.0.1:{port}/ocpp/BENCH-{index}"
        self.index = index
        token = base64.b64encode(f"BENCH-{index}:{BENCH_PASSWORD}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"} if self.basic_auth else {}
        self.ws: ClientConnection | None = None
        self.seq = 0

    async def connect(self) -> None:
        """Like a real charger, come back when told to (429/503 with Retry-After: with `--auth basic` a cold
        node checks at most a few passwords at a time)."""
        for _ in range(100):
            try:
                self.ws = await connect(
                    self.url,
                    subprotocols=["ocpp1.6"],
                    additional_headers=self.headers,
                    ping_interval=None,
                    open_timeout=60,
                    compression=None,
                    close_timeout=2,
                )
                return
            except InvalidStatus as exc:
                if exc.response.status_code not in (429, 503):
                    raise
                await asyncio.sleep(min(5.0, float(exc.response.headers.get("Retry-After", "1"))))
        raise RuntimeError("still refused after 100 attempts")

    async def call(self, action: str, payload: dict) -> float:
        """Round trip in seconds; raises on a CallError."""
        assert self.ws is not None
        self.seq += 1
        unique_id = f"{self.index}-{self.seq}"
        started = time.perf_counter()
        await self.ws.send(json.dumps([2, unique_id, action, payload]))
        answer = json.loads(await self.ws.recv())
        while answer[0] == 2:  # the CSMS asks (after a first Boot: OCA California pricing): not known here
            reply = (
                [3, answer[1], {"configurationKey": [], "unknownKey": answer[3].get("key", [])}]
                if answer[2] == "GetConfiguration"
                else [4, answer[1], "NotSupported", "", {}]
            )
            await self.ws.send(json.dumps(reply))
            answer = json.loads(await self.ws.recv())
        elapsed = time.perf_counter() - started
        if answer[0] != 3 or answer[1] != unique_id:
            raise RuntimeError(f"unexpected answer {answer}")
        return elapsed

    def meter_values(self) -> dict:
        return {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": now_z(),
                    "sampledValue": [
                        {
                            "value": str(1000 + self.seq),
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                        },
                        {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
                    ],
                }
            ],
        }


async def connect_all(port: int, n: int) -> list[Charger]:
    chargers = [Charger(port, i) for i in range(n)]
    sem = asyncio.Semaphore(200)

    async def one(c: Charger) -> None:
        async with sem:
            try:
                await c.connect()
                await c.call("BootNotification", {"chargePointVendor": "Bench", "chargePointModel": "Raw"})
            except Exception as exc:  # counted, not fatal: the result shows connected < chargers
                print(f"connect BENCH-{c.index} failed: {exc}", file=sys.stderr)
                c.ws = None

    await asyncio.gather(*(one(c) for c in chargers))
    return [c for c in chargers if c.ws is not None]


async def load(
    chargers: list[Charger], mode: str, duration: float, interval: float
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    # Paced sends are scheduled on a clock that starts a second from now: creating 10,000 tasks takes
    # a while, and chargers scheduled before the generator is done would all send at once, bunched.
    started = time.perf_counter() + (PACED_LEAD_S if mode == "paced" else 0.0)
    deadline = started + duration
    slow: list[tuple[float, float]] = []  # (second of the run, latency) of calls over 100 ms

    def record(latency: float) -> None:
        latencies.append(latency)
        if latency > 0.1:
            slow.append((time.perf_counter() - started - latency, latency))
            if os.environ.get("CSMS_BENCH_SLOW") == "2":
                print(f"SLOW wall {time.time() - latency:.2f} lat {latency * 1000:.0f}", file=sys.stderr)

    async def saturate(c: Charger) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            try:
                record(await c.call("MeterValues", c.meter_values()))
            except Exception:
                errors += 1
                return

    async def paced(c: Charger, offset: float) -> None:
        nonlocal errors
        next_at = started + offset  # the schedule, not when the sleep happened to end
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        while next_at < deadline:
            try:
                record(await c.call("MeterValues", c.meter_values()))
            except Exception:
                errors += 1
                return
            next_at += interval
            if next_at >= deadline:
                return  # not sleeping past the deadline: that time would count against calls/s
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    if mode == "saturation":
        await asyncio.gather(*(saturate(c) for c in chargers))
    else:
        spread = interval / max(1, len(chargers))
        await asyncio.gather(*(paced(c, i * spread) for i, c in enumerate(chargers)))
    if slow and os.environ.get("CSMS_BENCH_SLOW"):
        by_second: dict[int, list[float]] = {}
        for at, latency in slow:
            by_second.setdefault(int(at), []).append(latency)
        for second, values in sorted(by_second.items()):
            print(
                f"  slow at {second:4d} s: {len(values):5d} calls, max {max(values) * 1000:.0f} ms",
                file=sys.stderr,
            )
    return latencies, errors, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def measure(kind: str, args: argparse.Namespace) -> Result:
    port = free_port()
    proc = start_server(kind, port, args.database_url, {})
    try:
        await asyncio.sleep(0.5)
        before = rss_kib(proc.pid)
        chargers = await connect_all(port, args.chargers)
        await asyncio.sleep(1.0)
        per_connection = (rss_kib(proc.pid) - before) / max(1, len(chargers))
        latencies, errors, seconds = await load(chargers, args.mode, args.duration, args.interval)
        await asyncio.gather(*(c.ws.close() for c in chargers if c.ws), return_exceptions=True)
        return Result(
            server=kind,
            chargers=args.chargers,
            connected=len(chargers),
            mode=args.mode,
            calls=len(latencies),
            errors=errors,
            seconds=round(seconds, 2),
            calls_per_s=round(len(latencies) / seconds, 1),
            p50_ms=round(percentile(latencies, 0.50), 2),
            p99_ms=round(percentile(latencies, 0.99), 2),
            rss_per_connection_kib=round(per_connection, 1),
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def storm(kind: str, args: argparse.Namespace) -> dict:
    """Every charger reconnects within the window; count who is back and look for duplicate rows.

    `back_p99_s`: from a charger's own reconnect moment to its answered Boot (99th percentile).
    """
    port = free_port()
    proc = start_server(
        kind, port, args.database_url, {"CSMS_AUTO_REGISTER": "1", "CSMS_AUTO_REGISTER_PER_MINUTE": "0"}
    )
    try:
        chargers = await connect_all(port, args.chargers)
        await asyncio.gather(*(c.ws.close() for c in chargers if c.ws), return_exceptions=True)
        started = time.perf_counter()
        spread = args.storm_window / max(1, len(chargers))

        retries = 0
        back_after: list[float] = []

        async def back(c: Charger, offset: float) -> bool | Exception:
            """Like a real charger: up to three attempts, backing off 2 s and 4 s."""
            nonlocal retries
            await asyncio.sleep(max(0.0, started + offset - time.perf_counter()))
            failure: Exception | None = None
            for attempt in range(3):
                if attempt:
                    retries += 1
                    await asyncio.sleep(2.0 * attempt)
                try:
                    await c.connect()
                    await c.call(
                        "BootNotification", {"chargePointVendor": "Bench", "chargePointModel": "Raw"}
                    )
                    back_after.append(time.perf_counter() - started - offset)
                    return True
                except Exception as exc:
                    failure = exc
            return failure or RuntimeError("unreachable")

        results = await asyncio.gather(*(back(c, i * spread) for i, c in enumerate(chargers)))
        failures = [r for r in results if r is not True]
        if failures:
            print(f"{len(failures)} reconnects failed, e.g. {failures[0]!r}", file=sys.stderr)
        elapsed = time.perf_counter() - started
        online: str | None = None
        dup: str | None = None
        if kind == "csms":
            await asyncio.sleep(2)
            env = {**os.environ, "DATABASE_URL": args.database_url, "PIPELET_SECRET_KEY": "bench"}
            online, dup = subprocess.run(
                [PYTHON, "-c", STORM_CHECK], env=env, cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout.split()
        await asyncio.gather(*(c.ws.close() for c in chargers if c.ws), return_exceptions=True)
        return {
            "server": kind,
            "storm_chargers": len(chargers),
            "reconnected": sum(r is True for r in results),
            "retries": retries,
            "storm_seconds": round(elapsed, 2),
            "back_p50_s": round(percentile(back_after, 0.50) / 1000, 2),
            "back_p99_s": round(percentile(back_after, 0.99) / 1000, 2),
            "online_in_db": None if online is None else int(online),
            "duplicate_rows": None if dup is None else int(dup),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chargers", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--mode", choices=["saturation", "paced"], default="saturation")
    parser.add_argument(
        "--interval", type=float, default=30.0, help="paced mode: seconds between messages per charger"
    )
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--storm", action="store_true", help="also run the reconnect storm")
    parser.add_argument("--storm-window", type=float, default=10.0)
    parser.add_argument("--storm-only", action="store_true", help="skip the throughput runs")
    parser.add_argument(
        "--smoke", action="store_true", help="20 chargers, 3 s, SQLite: checks that it all runs"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    parser.add_argument(
        "--auth",
        choices=["none", "basic"],
        default="none",
        help="none: admitted without credentials (fair against the bare loop); basic: with passwords",
    )
    parser.add_argument(
        "--servers", default="bare,csms", help="which servers to measure, comma-separated (default both)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.chargers, args.duration = 20, 3.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.chargers * 2 + 100)), hard))
    tmp = tempfile.mkdtemp(prefix="csms-bench-")
    args.database_url = args.database_url or f"sqlite:///{tmp}/bench.db"
    prepare_database(args.database_url, args.chargers, args.auth)
    Charger.basic_auth = args.auth == "basic"
    kinds = [k for k in ("bare", "csms") if k in args.servers.split(",")]
    results = [] if args.storm_only else [await measure(kind, args) for kind in kinds]
    report: dict = {"results": [asdict(r) for r in results]}
    if len(results) == 2 and results[0].calls_per_s:
        report["csms_vs_bare_calls_per_s"] = round(results[1].calls_per_s / results[0].calls_per_s, 3)
    if args.storm:
        report["storm"] = [await storm(kind, args) for kind in kinds]
    report["database"] = args.database_url.split("@")[-1]
    report["auth"] = args.auth
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"database: {report['database']}  mode: {args.mode}  chargers: {args.chargers}  auth: {args.auth}")
    columns = (
        "server",
        "connected",
        "calls",
        "errors",
        "calls_per_s",
        "p50_ms",
        "p99_ms",
        "rss_per_connection_kib",
    )
    print("  ".join(f"{c:>12}" for c in columns))
    for r in results:
        row = asdict(r)
        print("  ".join(f"{row[c]!s:>12}" for c in columns))
    if "csms_vs_bare_calls_per_s" in report:
        print(f"csms / bare calls/s: {report['csms_vs_bare_calls_per_s']:.0%}")
    for row in report.get("storm", []):
        print("reconnect storm:", row)


if __name__ == "__main__":
    asyncio.run(main())
