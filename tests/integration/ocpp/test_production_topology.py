"""The production topology as processes: two CSMS nodes, Redis, PostgreSQL and a job worker, with the
web API holding no charger socket (issue 12).

A raw-JSON charger sits on node A. An operator's command goes in through `POST /api/v1/.../commands`
on the web side, which holds no socket: the Redis bus must find node A and deliver it, and the charger
must see the Reset. Then the charger moves to node B and the same command follows it there. The worker
and both nodes prove they run by showing up in `GET /api/v1/metrics` (their Redis snapshots), where node
A also reports the command it delivered.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from csms_helpers import ROOT, CsmsProcess, add_charger, add_tenant, charger_row
from prometheus_client.parser import text_string_to_metric_families
from rawcp import RawChargePoint

from pipelet_app import audit
from pipelet_app.api import build_api
from pipelet_app.auth.api_keys import create_api_key
from pipelet_app.db import session_scope
from pipelet_app.db.models import Role, User
from pipelet_app.settings import get_settings
from tests.pipelet_process import free_port
from tests.waiting import wait_for


def key_of(email: str, role: Role, tenant_id: int | None) -> str:
    with session_scope() as db:
        user = User(email=email, name=email, role=role, tenant_id=tenant_id)
        db.add(user)
        db.flush()
        return create_api_key(db, user, "topology")[1]


@pytest.fixture
def worker(redis_url: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelet_app.cli.main", "worker"],
        env={**os.environ, "REDIS_URL": redis_url, "LOG_FORMAT": "json"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture
async def nodes(redis_url: str) -> AsyncIterator[dict[str, CsmsProcess]]:
    started = {
        name: CsmsProcess(free_port(), {"REDIS_URL": redis_url, "CSMS_NODE_ID": f"node-{name}"})
        for name in ("A", "B")
    }
    try:
        await asyncio.gather(*(node.start() for node in started.values()))
        yield started
    finally:
        for node in started.values():
            node.stop()


def metric_samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
async def test_operator_command_is_routed_to_the_node_holding_the_socket(
    database: str,
    redis_url: str,
    nodes: dict[str, CsmsProcess],
    worker: subprocess.Popen[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert database.startswith("postgresql")
    tenant = add_tenant("topology-op")
    add_charger("CP-TOPO", tenant_id=tenant)
    operator = key_of("op@topology.example", Role.OPERATOR, tenant)
    admin = key_of("admin@topology.example", Role.ADMIN, None)
    monkeypatch.setenv("REDIS_URL", redis_url)  # the web side: scale-out, no CSMS of its own
    get_settings.cache_clear()
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=build_api()), base_url="http://web", timeout=60)

    async def reset_via_api() -> httpx.Response:
        return await api.post(
            "/api/v1/chargers/CP-TOPO/commands/reset",
            json={"type": "Soft"},
            headers={"Authorization": f"Bearer {operator}"},
        )

    seen: list[tuple[str, dict]] = []
    try:
        for name in ("A", "B"):
            node = nodes[name]
            async with RawChargePoint(f"ws://127.0.0.1:{node.port}", "CP-TOPO") as cp:
                await cp.boot16()
                cp.responders["Reset"] = lambda payload, on=name: (
                    seen.append((on, payload)) or {"status": "Accepted"}
                )
                assert charger_row("CP-TOPO").csms_node == f"node-{name}"
                answer = await reset_via_api()
                assert answer.status_code == 200, answer.text
                assert answer.json()["response"] == {"status": "Accepted"}
                assert seen[-1] == (name, {"type": "Soft"}), "delivered to the socket on this node"
            await wait_for(lambda: not charger_row("CP-TOPO").is_online, what="the node recorded the drop")
        assert [on for on, _ in seen] == ["A", "B"]

        async def scraped() -> list[tuple[str, dict[str, str], float]]:
            answer = await api.get("/api/v1/metrics", headers={"Authorization": f"Bearer {admin}"})
            assert answer.status_code == 200, answer.text
            return metric_samples(answer.text)

        last: dict[str, object] = {}

        async def every_process_reports() -> bool:
            samples = await scraped()
            processes = {labels.get("process", "") for _, labels, _ in samples}
            delivered = {  # by the CSMS nodes (this test process, "web", may count earlier tests' resets)
                labels["process"]
                for name, labels, value in samples
                if name == "pipelet_csms_commands_total"
                and labels.get("action") == "reset"
                and value >= 1
                and labels["process"].startswith("csms:")
            }
            has_worker = any(p.startswith("worker:") for p in processes)
            last.update(processes=sorted(processes), delivered=sorted(delivered))
            return (
                {"csms:node-A", "csms:node-B"} <= processes
                and has_worker
                and delivered
                == {
                    "csms:node-A",
                    "csms:node-B",
                }
            )

        # Each process snapshots every 15 s (metrics.SNAPSHOT_S); a loaded box can take a few periods.
        try:
            await wait_for(every_process_reports, timeout=90, what="both nodes and the worker in the metrics")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last scrape: {last}") from None
    finally:
        await api.aclose()
    assert worker.poll() is None, "the worker runs"
    with session_scope() as db:
        trail = audit.history(db, tenant, "charger", "CP-TOPO")
        assert [row["action"] for row in trail] == ["charger.command", "charger.command"]
