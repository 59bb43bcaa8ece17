"""Does a flood of bad sign-ins and bad OCPP passwords slow everyone else down?

Starts `pipelet run` (the embedded deployment: Reflex web app + API on one port, CSMS beside it) on a fresh
SQLite database, then measures, side by side in the same run:

- baseline: `/api/v1/health` round trips and a healthy charger's Heartbeat round trips, nothing else going on;
- flood: the same two probes while 200 bad sign-ins (`POST /auth/login`, unknown e-mails, from 50 loopback
  source addresses) and 200 bad OCPP passwords (WebSocket upgrades with a wrong Basic password for another
  charger, from 50 source addresses) arrive at once.

Goal (issue 11): both p99 < 200 ms during the flood. Prints a JSON document; `--out FILE` writes it too.

    .venv/bin/python benchmarks/auth_flood/run.py              # 200 + 200, 10 s baseline
    .venv/bin/python benchmarks/auth_flood/run.py --smoke      # 20 + 20, 3 s baseline (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.pipelet_process import running_pipelet  # noqa: E402

PROBE_EVERY_S = 0.05
ADDRESSES = 50


def summary(latencies: list[float]) -> dict:
    if not latencies:
        return {"n": 0}
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]  # noqa: E731
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(pick(0.99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def probe_health(base: str, stop: asyncio.Event) -> list[float]:
    out = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        while not stop.is_set():
            began = time.perf_counter()
            response = await client.get("/api/v1/health")
            out.append(time.perf_counter() - began)
            assert response.status_code == 200, response.text
            await asyncio.sleep(PROBE_EVERY_S)
    return out


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def probe_heartbeat(csms: str, cp_id: str, password: str | None, stop: asyncio.Event) -> list[float]:
    out = []
    headers = basic(cp_id, password) if password else {}
    async with websockets.connect(
        f"{csms}/ocpp/{cp_id}", subprotocols=["ocpp1.6"], additional_headers=headers, open_timeout=30
    ) as ws:
        await ws.send(
            json.dumps([2, "boot", "BootNotification", {"chargePointVendor": "B", "chargePointModel": "M"}])
        )
        await ws.recv()
        n = 0
        while not stop.is_set():
            n += 1
            began = time.perf_counter()
            await ws.send(json.dumps([2, f"hb-{n}", "Heartbeat", {}]))
            while True:
                frame = json.loads(await ws.recv())
                if frame[0] in (3, 4) and frame[1] == f"hb-{n}":
                    break
            out.append(time.perf_counter() - began)
            assert frame[0] == 3, frame
            await asyncio.sleep(PROBE_EVERY_S)
    return out


async def bad_logins(base: str, n: int) -> Counter:
    clients = [
        httpx.AsyncClient(
            base_url=base, timeout=120, transport=httpx.AsyncHTTPTransport(local_address=f"127.0.0.{2 + i}")
        )
        for i in range(ADDRESSES)
    ]
    try:
        answers = await asyncio.gather(
            *(
                clients[i % ADDRESSES].post(
                    "/auth/login",
                    json={"email": f"flood{i}@nowhere.example", "password": f"wrong-password-{i}"},
                )
                for i in range(n)
            ),
            return_exceptions=True,
        )
    finally:
        for client in clients:
            await client.aclose()
    return Counter(a.status_code if isinstance(a, httpx.Response) else type(a).__name__ for a in answers)


async def bad_ocpp_password(csms: str, cp_id: str, i: int) -> str:
    try:
        async with websockets.connect(
            f"{csms}/ocpp/{cp_id}",
            subprotocols=["ocpp1.6"],
            additional_headers=basic(cp_id, f"wrong-password-{i}"),
            open_timeout=120,
            local_addr=(f"127.0.0.{2 + i % ADDRESSES}", 0),  # many sources, as a guessing botnet
        ) as ws:
            await ws.close()
            return "admitted"
    except websockets.InvalidStatus as exc:
        return str(exc.response.status_code)
    except Exception as exc:  # a refused or reset socket is an answer too
        return type(exc).__name__


async def bad_ocpp_passwords(csms: str, cp_id: str, n: int) -> Counter:
    results = await asyncio.gather(*(bad_ocpp_password(csms, cp_id, i) for i in range(n)))
    return Counter(results)


async def phase(
    base: str, csms: str, healthy: tuple[str, str | None], flood: tuple[int, int, str] | None, quiet_s: float
) -> dict:
    stop = asyncio.Event()
    health = asyncio.create_task(probe_health(base, stop))
    heartbeat = asyncio.create_task(probe_heartbeat(csms, healthy[0], healthy[1], stop))
    await asyncio.sleep(0.5)
    began = time.perf_counter()
    result: dict = {}
    if flood is None:
        await asyncio.sleep(quiet_s)
    else:
        logins, passwords, target = flood
        login_answers, ocpp_answers = await asyncio.gather(
            bad_logins(base, logins), bad_ocpp_passwords(csms, target, passwords)
        )
        result["flood_s"] = round(time.perf_counter() - began, 2)
        result["bad_login_answers"] = dict(login_answers)
        result["bad_ocpp_answers"] = dict(ocpp_answers)
        await asyncio.sleep(0.5)
    stop.set()
    result["health"] = summary(await health)
    result["heartbeat"] = summary(await heartbeat)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="20 + 20 attempts, short baseline")
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--ocpp", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    logins, passwords, quiet_s = (20, 20, 3.0) if args.smoke else (args.logins, args.ocpp, 10.0)

    workdir = Path(tempfile.mkdtemp(prefix="auth-flood-"))
    with running_pipelet(workdir) as instance:
        base, csms = instance["base"].replace("localhost", "127.0.0.1"), instance["csms"]
        healthy, target = instance["demo"]["charge_points"][:2]
        report = {
            "logins": logins,
            "ocpp_passwords": passwords,
            "healthy_charger": healthy["id"],
            "guessed_charger": target["id"],
            "baseline": asyncio.run(phase(base, csms, (healthy["id"], healthy["password"]), None, quiet_s)),
            "flood": asyncio.run(
                phase(base, csms, (healthy["id"], healthy["password"]), (logins, passwords, target["id"]), 0)
            ),
        }
        flood = report["flood"]
        report["goal_met"] = flood["health"]["p99_ms"] < 200 and flood["heartbeat"]["p99_ms"] < 200
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
