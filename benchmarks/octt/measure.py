"""The open OCTT re-implementation (tzi-OCTT, OCPP 2.0.1 CSMS cases in blocks A-P) against our CSMS.

Not a `run.py`: the suite is not on PyPI and not in this repository (its code stays out of it), so CI
cannot run it on a clean machine. Get it, then point `--suite` at a checkout:

    git clone https://github.com/tzi-app/tzi-OCTT /tmp/octt
    python3 -m venv /tmp/octt-venv && /tmp/octt-venv/bin/pip install -r /tmp/octt/requirements.txt
    .venv/bin/python benchmarks/octt/measure.py --suite /tmp/octt --suite-python /tmp/octt-venv/bin/python

What it sets up, as an operator would (README.md lists the suite's own requirements):
- a fresh PostgreSQL database (`--database-url`, created), migrated; one operator tenant with a site,
  the suite's stations (CP201_SP1 Basic auth, CP202_SP2 TLS + Basic, CP202_SP3 TLS + client
  certificate, floors 0/2/3) and its id tokens (valid, blocked, expired; the invalid one is unknown);
- two `pipelet csms` nodes sharing the database and Redis (commands reach the node holding the
  socket): an SP1 node on ws:// for blocks B-P and an SP2/SP3 node on wss:// for block A, with the
  suite's server certificates (ECDSA + RSA), its CA as client CA and as the CSMS CA (SignCertificate),
  a client certificate for CP202_SP3 issued by that CA (the suite ships one for "CP_1"), and a local
  V2G root + CPO sub-CA for V2G / combined certificates;
- the suite's "trigger" HTTP API (its stand-in for the operator's clicks), served here and translated
  into our own command API: `POST /api/v1/chargers/{id}/commands/{name}` with an operator's API key
  (the FastAPI app in this process; commands go over Redis to the CSMS node), the security-profile
  floor through `PUT /api/v1/chargers/{id}/security-profile`, the "Pending at next boot" switch through
  `PUT /api/v1/chargers/{id}/registration`, and a chosen Basic-auth password through
  the same service the API's rotation uses, followed by the same identity notice to every node.

Prints passes per block and writes `--json` (default benchmarks/octt/last_run.json).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # pipelet_app, and tests.fakes for the fake mobility operator
from tests.pipelet_process import free_port  # noqa: E402

BLOCKS = "ABCDEFGHIJKLMNOP"
PASSWORD = "0123456789123456"  # 2.0.1 BasicAuthPassword: 16-40 characters
NEW_PASSWORD = "NewPassword012345678"
SP1, SP2, SP3 = "CP201_SP1", "CP202_SP2", "CP202_SP3"
GROUP = "GROUP001"
TOKENS = {  # token -> (status, type, group id token)
    "TAG-001": ("Accepted", "ISO14443", GROUP),
    "100000C01": ("Accepted", "Central", None),
    "100000C39B": ("Accepted", "Central", GROUP),
    "100000C06": ("Blocked", "Central", None),
    "100000C07": ("Expired", "Central", None),
    "MASTERC47": ("Accepted", "Central", GROUP),
    "EMAID001": ("Accepted", "eMAID", None),
}


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"a CSMS node exited ({proc.returncode}); see its log")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.3)
    raise SystemExit(f"port {port} not listening after {timeout:.0f} s")


# --------------------------------------------------------------------------- certificates


def _issue(subject: str, key: Any, issuer: tuple[Any, Any] | None, *, ca: bool, client: bool = False) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_cert.subject if issuer_cert is not None else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if client:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def certificates(suite: Path, out: Path) -> dict[str, str]:
    """Server certificates and the CA from the suite; what it lacks is issued here into `out`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    certs = suite / "certs"
    ca_cert = x509.load_pem_x509_certificate((certs / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((certs / "ca.key").read_bytes(), password=None)

    def pem(cert: Any) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(key: Any) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _issue(SP3, client_key, (ca_cert, ca_key), ca=False, client=True)
    (out / "sp3.pem").write_bytes(pem(client))
    (out / "sp3.key").write_bytes(key_pem(client_key))
    root_key, cpo_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = _issue("V2G Root (octt measure)", root_key, None, ca=True)
    cpo = _issue("CPO Sub-CA (octt measure)", cpo_key, (root, root_key), ca=True)
    (out / "cpo.pem").write_bytes(pem(cpo) + pem(root))
    (out / "cpo.key").write_bytes(key_pem(cpo_key))
    (out / "clients.pem").write_bytes((certs / "ca.pem").read_bytes() + pem(cpo) + pem(root))
    return {
        "CSMS_TLS_CERT": str(certs / "server.pem"),
        "CSMS_TLS_KEY": str(certs / "server.key"),
        "CSMS_TLS_CERT_2": str(certs / "server_rsa.pem"),
        "CSMS_TLS_KEY_2": str(certs / "server_rsa.key"),
        "CSMS_TLS_CLIENT_CA": str(out / "clients.pem"),
        "CSMS_CA_CERT": str(certs / "ca.pem"),
        "CSMS_CA_KEY": str(certs / "ca.key"),
        "CSMS_V2G_CA_CERT": str(out / "cpo.pem"),
        "CSMS_V2G_CA_KEY": str(out / "cpo.key"),
    }


# --------------------------------------------------------------------------- database


def create_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed() -> str:
    """Tenant, site, stations, tokens and an operator's API key (returned)."""
    from pipelet_app.auth.api_keys import create_api_key
    from pipelet_app.db import session_scope
    from pipelet_app.db.models import (
        Charger,
        ChargerAuthMode,
        IdToken,
        IdTokenStatus,
        Role,
        Site,
        Tenant,
        TenantKind,
        User,
    )
    from pipelet_app.ocpp.identity import hash_password

    with session_scope() as db:
        tenant = Tenant(name="OCTT operator", slug="octt", kind=TenantKind.OPERATOR)
        db.add(tenant)
        db.flush()
        site = Site(tenant_id=tenant.id, name="OCTT site", timezone="UTC")  # type: ignore[arg-type]
        db.add(site)
        db.flush()
        for cp_id, floor in ((SP1, 0), (SP2, 2), (SP3, 3)):
            db.add(
                Charger(
                    charge_point_id=cp_id,
                    tenant_id=tenant.id,
                    site_id=site.id,
                    basic_auth_hash=hash_password(PASSWORD) if cp_id != SP3 else None,
                    auth_mode=ChargerAuthMode.BASIC,
                    security_profile=floor,
                )
            )
        for token, (status, kind, group) in TOKENS.items():
            db.add(
                IdToken(
                    tenant_id=tenant.id,  # type: ignore[arg-type]
                    token=token,
                    status=IdTokenStatus(status),
                    type=kind,
                    parent_id_tag=group,
                )
            )
        user = User(email="operator@octt.test", role=Role.OPERATOR, tenant_id=tenant.id)
        db.add(user)
        db.flush()
        return create_api_key(db, user, "octt measure")[1]


# --------------------------------------------------------------------------- the trigger API


def _snake(value: Any) -> Any:
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): _snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


def _command_names() -> dict[str, str]:
    """OCPP 2.0.1 action -> our command name (raw action names are accepted as commands too)."""
    from pipelet_app.ocpp.commands import COMMANDS

    names: dict[str, str] = {}
    for name, versions in COMMANDS.items():
        action = versions.get("2.0.1")
        if action and name != "set-charging-limit":
            names.setdefault(action, name)
    return names


def trigger_app(api_key: str) -> Any:
    """The suite's trigger endpoints over our API (see the module docstring)."""
    import httpx
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from pipelet_app.api import build_api
    from pipelet_app.ocpp.commands import notify_identity_changed

    api = build_api()
    headers = {"Authorization": f"Bearer {api_key}"}
    names = _command_names()

    async def command(station: str, name: str, payload: dict[str, Any]) -> JSONResponse:
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://pipelet", timeout=60) as client:
            answer = await client.post(
                f"/api/v1/chargers/{station}/commands/{name}", json=payload, headers=headers
            )
        if answer.status_code != 200:
            return JSONResponse({"result": "error", "status_code": answer.status_code, "detail": answer.text})
        return JSONResponse(_snake(answer.json()["response"]))

    async def put(station: str, setting: str, payload: dict[str, Any]) -> JSONResponse:
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://pipelet", timeout=60) as client:
            answer = await client.put(f"/api/v1/chargers/{station}/{setting}", json=payload, headers=headers)
        return JSONResponse({"ok": answer.status_code == 200, "detail": answer.text[:500]})

    async def route(request: Request) -> JSONResponse:
        body = await request.json() if (await request.body()) else {}
        path = request.url.path
        if path == "/api/octt/set-basic-auth-password":
            await asyncio.to_thread(set_password, body["station_id"], body["password"])
            await notify_identity_changed(body["station_id"])  # every node, as the API's rotation does
            return JSONResponse({"ok": True})
        match = re.fullmatch(r"/api/octt/2\.0\.1/([^/]+)/(.+)", path)
        if match is None:
            return JSONResponse({"error": f"unknown path {path}"}, status_code=404)
        station, action = match.groups()
        if action.startswith("call/"):
            ocpp_action = action[5:]
            return await command(station, names.get(ocpp_action, ocpp_action), body)
        if action == "trigger-message":
            return await command(station, "trigger-message", body)
        if action in ("get-variables", "set-variables"):
            name = "get-configuration" if action == "get-variables" else "change-configuration"
            return await command(station, name, body)
        if action == "update-basic-auth-password":
            variable = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}
            payload = {"setVariableData": [{**variable, "attributeValue": NEW_PASSWORD}]}
            return await command(station, "change-configuration", payload)
        if action == "set-security-profile":
            return await put(station, "security-profile", {"security_profile": int(body["security_profile"])})
        if action == "set-items-per-message":
            # The OCTT's precondition is "the station reported ItemsPerMessage = n" (configuration
            # state); the suite's station cannot be made to send that report, so it is stored as the
            # station's NotifyReport would store it (ocpp/device_model.store_report).
            await asyncio.to_thread(report_limits, station, body)
            return JSONResponse({"ok": True})
        if action == "set-pending-boot":
            # The operator holds the station back at its next boot (B_02/B_30/B_31), or lets it in again.
            status = "Pending" if body.get("pending", True) else "Accepted"
            return await put(station, "registration", {"registration_status": status})
        return JSONResponse({"error": f"unknown action {action}"}, status_code=404)

    return Starlette(routes=[Route("/{path:path}", route, methods=["POST"])])


def set_password(station: str, password: str) -> None:
    from sqlmodel import select

    from pipelet_app.db import session_scope
    from pipelet_app.db.models import Charger
    from pipelet_app.ocpp.chargers import set_basic_auth_password

    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == station)).one()
        set_basic_auth_password(db, charger.id, password)  # type: ignore[arg-type]


def report_limits(station: str, body: dict[str, Any]) -> None:
    from sqlmodel import select

    from pipelet_app.db import session_scope
    from pipelet_app.db.models import Charger
    from pipelet_app.ocpp.device_model import store_report

    instances = {"get_variables": "GetVariables", "set_variables": "SetVariables", "get_report": "GetReport"}
    report = [
        {
            "component": {"name": "DeviceDataCtrlr"},
            "variable": {"name": "ItemsPerMessage", "instance": instances[key]},
            "variableAttribute": [{"value": str(int(value)), "mutability": "ReadOnly"}],
        }
        for key, value in body.items()
        if key in instances
    ]
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == station)).one()
        store_report(db, charger.id, report)  # type: ignore[arg-type]


async def configure_pricing(api_key: str) -> None:
    """An energy tariff on the SP1 station through the pricing API (block I: running cost, totalCost)."""
    import httpx

    from pipelet_app.api import build_api

    headers = {"Authorization": f"Bearer {api_key}"}
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://pipelet") as client:
        plan = await client.post(
            "/api/v1/pricing/plans",
            json={"name": "OCTT energy", "base": {"per_kwh": "0.40"}, "session_fee": "0.50"},
            headers=headers,
        )
        plan.raise_for_status()
        assigned = await client.put(
            f"/api/v1/chargers/{SP1}/pricing", json={"plan_id": plan.json()["id"]}, headers=headers
        )
        assigned.raise_for_status()


def serve_triggers(app: Any, port: int) -> threading.Thread:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return thread


# --------------------------------------------------------------------------- running the suite


def run_block(
    block: str, suite: Path, python: str, env: dict[str, str], out: Path, timeout: int, extra: list[str]
) -> dict[str, Any]:
    xml = out / f"block-{block}.xml"
    started = time.monotonic()
    with open(out / f"block-{block}.log", "w") as log:
        subprocess.run(
            [
                python,
                "-m",
                "pytest",
                "-p",
                "no:warnings",
                "-q",
                "--tb=native",  # pytest's own traceback formatting crashed on a test's source (3.11.7)
                f"--junitxml={xml}",
                f"2.0.1/{block}",
                *extra,
            ],
            cwd=suite,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    cases = []
    if xml.exists():
        for case in ET.parse(xml).getroot().iter("testcase"):
            outcome = "passed"
            for child in case:
                if child.tag in ("failure", "error"):
                    outcome = "failed"
                    message = (child.get("message") or "").splitlines()
                    cases.append(
                        {
                            "name": case.get("name"),
                            "outcome": outcome,
                            "why": message[0][:300] if message else "",
                        }
                    )
                    break
                if child.tag == "skipped":
                    outcome = "skipped"
            else:
                cases.append({"name": case.get("name"), "outcome": outcome})
    passed = sum(c["outcome"] == "passed" for c in cases)
    return {
        "block": block,
        "tests": len(cases),
        "passed": passed,
        "seconds": round(time.monotonic() - started),
        "cases": cases,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", type=Path, required=True, help="a checkout of tzi-OCTT")
    parser.add_argument(
        "--suite-python", default=sys.executable, help="a Python with the suite's requirements"
    )
    parser.add_argument("--blocks", default=BLOCKS, help="which blocks (default A-P)")
    parser.add_argument(
        "--database-url", default=f"postgresql://postgres@127.0.0.1:5432/pipelet_octt_{os.getpid()}"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--block-timeout", type=int, default=3600)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "octt" / "last_run.json")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (e.g. -k test_tc_k_53)")
    args = parser.parse_args()
    suite = args.suite.resolve()
    if not (suite / "2.0.1").is_dir():
        raise SystemExit(f"--suite: {suite} is not a tzi-OCTT checkout (no 2.0.1/)")

    work = Path(tempfile.mkdtemp(prefix="octt-measure-"))
    create_database(args.database_url)
    sp1_port, tls_port, trigger_port = free_port(), free_port(), free_port()
    base_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "PIPELET_SECRET_KEY": "octt-measure-secret",
        "CSMS_OUTBOUND_ALLOWED_HOSTS": "localhost,127.0.0.1",  # the suite's OCSP responders
    }
    os.environ.update({k: base_env[k] for k in ("DATABASE_URL", "REDIS_URL", "PIPELET_SECRET_KEY")})
    subprocess.run(
        [sys.executable, "-m", "pipelet_app.cli.main", "db", "upgrade"], cwd=ROOT, env=base_env, check=True
    )
    api_key = seed()
    asyncio.run(configure_pricing(api_key))
    tls = certificates(suite, work)

    # A contract-certificate source for Get15118EVCertificate (M_26/M_28): the local fake mobility
    # operator of our tests, as CSMS_CONTRACT_CERT_URL; without one our CSMS answers Failed, as it should.
    from tests.fakes.pnc_fake import running_mobility_operator

    stack = contextlib.ExitStack()
    mobility_operator = stack.enter_context(running_mobility_operator())
    base_env["CSMS_CONTRACT_CERT_URL"] = mobility_operator.url
    nodes = []
    for node, port, extra in (("octt-sp1", sp1_port, {}), ("octt-sp23", tls_port, tls)):
        env = {**base_env, **extra, "CSMS_NODE_ID": node, "CSMS_PORT": str(port)}
        if not extra:  # the SP1 node signs CSRs too (blocks M, A's CertificateSigned on a plain socket)
            env.update(
                {k: tls[k] for k in ("CSMS_CA_CERT", "CSMS_CA_KEY", "CSMS_V2G_CA_CERT", "CSMS_V2G_CA_KEY")}
            )
        log = open(work / f"{node}.log", "w")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [sys.executable, "csms_server.py", "--port", str(port), "--no-migrate", "--host", "127.0.0.1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        nodes.append(proc)
        wait_port(port, proc)
    serve_triggers(trigger_app(api_key), trigger_port)

    suite_env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV")
    }
    suite_env.update(
        {
            "CSMS_TRIGGER_ADDRESS": f"http://127.0.0.1:{trigger_port}",
            "CP201_SP1": SP1,
            "CP201_SP2": SP2,
            "CP201_SP3": SP3,
            "BASIC_AUTH_CP_PASSWORD": PASSWORD,
            "NEW_BASIC_AUTH_PASSWORD": NEW_PASSWORD,
            "TLS_CA_CERT": str(suite / "certs" / "ca.pem"),
            "TLS_CLIENT_CERT": str(work / "sp3.pem"),
            "TLS_CLIENT_KEY": str(work / "sp3.key"),
            "TLS_INVALID_CLIENT_CERT": str(suite / "certs" / "invalid_client.pem"),
            "TLS_INVALID_CLIENT_KEY": str(suite / "certs" / "invalid_client.key"),
            "CSMS_ACTION_TIMEOUT": "30",
        }
    )
    results = []
    try:
        for block in args.blocks:
            env = dict(suite_env)
            env["CSMS_ADDRESS"] = (
                f"wss://localhost:{tls_port}/ocpp" if block == "A" else f"ws://localhost:{sp1_port}/ocpp"
            )
            result = run_block(
                block, suite, args.suite_python, env, work, args.block_timeout, args.pytest_args
            )
            results.append(result)
            print(
                f"{block}: {result['passed']:3d} / {result['tests']:3d}  ({result['seconds']} s)", flush=True
            )
    finally:
        stack.close()
        for proc in nodes:
            proc.terminate()
        for proc in nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(20)
    total = sum(r["tests"] for r in results)
    passed = sum(r["passed"] for r in results)
    print(f"total: {passed} / {total}   (logs in {work})")
    commit = subprocess.run(
        ["git", "-C", str(suite), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    args.json.write_text(
        json.dumps(
            {
                "suite_commit": commit,
                "passed": passed,
                "tests": total,
                "load": os.getloadavg(),
                "blocks": results,
            },
            indent=2,
        )
    )
    if os.environ.get("OCTT_KEEP_LOGS") is None and passed == total:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
