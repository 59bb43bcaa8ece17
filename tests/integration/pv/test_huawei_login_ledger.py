"""Huawei's 5 logins per 10 minutes hold across workers and restarts, on SQLite and PostgreSQL: the logins
are counted in the database (`inverters.login_ledger`), not in a process's memory.

The "workers" are real processes (tests/integration/pv/huawei_login_worker.py) against the local Huawei fake
and this test's database; each login is made as a fresh process would, with no cached session or token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import VendorLoginLedger
from pipelet_app.inverters import login_ledger
from pipelet_app.inverters.base import InvalidCredentials, Throttled
from pipelet_app.inverters.huawei import HuaweiAdapter, reset_sessions
from tests.fakes.inverters.huawei import SYSTEM_CODE, USER, HuaweiFake

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[3]
WORKER = [sys.executable, "-m", "tests.integration.pv.huawei_login_worker"]


@pytest.fixture
def fake(database: str) -> Iterator[HuaweiFake]:
    reset_sessions()
    with HuaweiFake(start=NOW) as server:
        yield server
    reset_sessions()


def _workers(fake: HuaweiFake, *attempts: int) -> list[dict[str, int]]:
    """Run one worker process per entry of `attempts` at once; what each reports."""
    start_at = time.time() + 3.0  # after both have imported: their logins overlap
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.pv.huawei_login_worker",
                fake.base_url,
                NOW.isoformat(),
                str(n),
                str(start_at),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in attempts
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _adapter(fake: HuaweiFake, code: str = SYSTEM_CODE) -> HuaweiAdapter:
    return HuaweiAdapter({"userName": USER, "systemCode": code}, base_url=fake.base_url, clock=fake.clock.now)


def _spent(fake: HuaweiFake) -> list[float]:
    return login_ledger.current().spends(login_ledger.account_key("huawei", fake.base_url, USER))


def test_two_workers_together_never_log_in_a_sixth_time(fake: HuaweiFake) -> None:
    first, second = _workers(fake, 6, 6)
    assert len(fake.logins) == 5, "the cloud saw five logins in ten minutes, not one more"
    assert first["ok"] + second["ok"] == 5 and first["throttled"] + second["throttled"] == 7
    assert _spent(fake) == [NOW.timestamp()] * 5


async def test_a_restarted_worker_still_sees_the_earlier_logins(fake: HuaweiFake) -> None:
    (before,) = _workers(fake, 5)  # a worker logs in five times, then its process ends
    assert before == {"ok": 5, "throttled": 0} and len(fake.logins) == 5
    (after,) = _workers(fake, 1)  # the restarted worker
    assert after == {"ok": 0, "throttled": 1} and len(fake.logins) == 5
    reset_sessions()  # and this process, a third one, the same
    with pytest.raises(Throttled) as caught:
        async with _adapter(fake) as adapter:
            await adapter.test_credentials()
    assert len(fake.logins) == 5 and 0 < caught.value.retry_after_s <= 600
    fake.clock.advance(601)  # the ten minutes are over: a login is allowed again, and counted
    async with _adapter(fake) as adapter:
        await adapter.test_credentials()
    assert len(fake.logins) == 6 and len(_spent(fake)) == 1


async def test_the_ledger_keeps_times_only_never_a_credential(fake: HuaweiFake) -> None:
    """A refused login counts too (Huawei counts the account's logins); the row names no user, code or
    token: its key is a hash, its ledger the login times."""
    with pytest.raises(InvalidCredentials):
        async with _adapter(fake, "wrong-code-123") as adapter:
            await adapter.test_credentials()
    reset_sessions()
    async with _adapter(fake) as adapter:
        await adapter.test_credentials()
        token = adapter.credentials["xsrf_token"]
    assert len(_spent(fake)) == 2
    with session_scope() as db:
        rows = db.exec(select(VendorLoginLedger)).all()
        raw = db.connection().execute(text("SELECT * FROM c4_vendor_login_ledgers")).all()
    assert [(r.brand, set(r.ledger), r.version) for r in rows] == [("huawei", {"login"}, 2)]
    assert len(rows[0].account_key) == 64
    stored = repr(raw) + repr([r.model_dump() for r in rows])
    for secret in (USER, SYSTEM_CODE, "wrong-code-123", token, fake.base_url):
        assert secret not in stored
