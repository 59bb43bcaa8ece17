"""Setup helpers shared by the CSMS integration tests: database rows, and the CSMS as a process of its own."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargerAuthMode, IdToken, IdTokenStatus, Tenant, TenantKind
from pipelet_app.ocpp.identity import hash_password, new_password
from pipelet_app.ocpp.server import CsmsServer


def url_of(server: CsmsServer) -> str:
    return f"ws://127.0.0.1:{server.port}"


def add_charger(
    charge_point_id: str,
    password: str | None = None,
    tenant_id: int | None = None,
    auth_mode: ChargerAuthMode | None = None,
) -> int:
    """A charger row. Without a password it is explicitly set to auth mode "none" (what the operator
    chooses for a charger that cannot do Basic auth), unless `auth_mode` says otherwise: tests about
    something other than identity connect without credentials. Identity tests use
    `add_charger_with_password`."""
    if auth_mode is None:
        auth_mode = ChargerAuthMode.BASIC if password else ChargerAuthMode.NONE
    with session_scope() as s:
        charger = Charger(
            charge_point_id=charge_point_id,
            tenant_id=tenant_id,
            basic_auth_hash=hash_password(password) if password else None,
            auth_mode=auth_mode,
        )
        s.add(charger)
        s.flush()
        assert charger.id is not None
        return charger.id


def add_charger_with_password(charge_point_id: str, tenant_id: int | None = None) -> tuple[int, str]:
    """A charger as an operator creates it: auth mode "basic" with a generated password (returned)."""
    password = new_password()
    return add_charger(charge_point_id, password, tenant_id), password


def add_tenant(slug: str, kind: TenantKind = TenantKind.OPERATOR) -> int:
    with session_scope() as s:
        tenant = Tenant(name=slug, slug=slug, kind=kind)
        s.add(tenant)
        s.flush()
        assert tenant.id is not None
        return tenant.id


def add_token(
    tenant_id: int, token: str, status: IdTokenStatus = IdTokenStatus.ACCEPTED, **kw: object
) -> None:
    with session_scope() as s:
        s.add(IdToken(tenant_id=tenant_id, token=token, status=status, **kw))


def charger_row(charge_point_id: str) -> Charger:
    with session_scope() as s:
        from pipelet_app.ocpp.chargers import find_charger

        row = find_charger(s, charge_point_id)
        assert row is not None
        return row


def set_max_power(charge_point_id: str, connector_id: int, watts: float) -> None:
    """The connector's maximum power, which the session plausibility checks use."""
    from pipelet_app.db.models import Connector

    charger_id = charger_row(charge_point_id).id
    with session_scope() as s:
        s.add(Connector(charger_id=charger_id, connector_id=connector_id, max_power_w=watts))


ROOT = Path(__file__).resolve().parents[3]


class CsmsProcess:
    """`python csms_server.py` on a port of its own, with the test's DATABASE_URL (and REDIS_URL)."""

    def __init__(self, port: int, extra_env: dict[str, str] | None = None) -> None:
        self.port = port
        self.env = {**os.environ, "CSMS_PORT": str(port), "CSMS_PING_INTERVAL_S": "5", **(extra_env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "csms_server.py"),
                "--no-migrate",
                "--host",
                "127.0.0.1",
                "--log-level",
                "WARNING",
            ],
            env=self.env,
            cwd=ROOT,
        )
        # until it listens: a few seconds on a quiet machine, longer while other tests (parallel workers)
        # load it; a process that exits fails at once
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"CSMS process exited with {self.proc.returncode} before listening")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise AssertionError("CSMS process did not start listening within 60 s")

    def signal(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=15)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
