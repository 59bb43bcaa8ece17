"""Sign-in: lock-out per e-mail *and* address, identical for known and unknown e-mails; per-address and
overall budgets; and a flood of bad sign-ins does not slow down another user (real server, real sockets)."""

from __future__ import annotations

import asyncio
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))

from helpers import bearer, guarded_api

from pipelet_app.api.ratelimit import limiter_for
from pipelet_app.settings import get_settings
from tests.pipelet_process import free_port


@pytest.fixture
def budgets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    limiter_for.cache_clear()
    get_settings.cache_clear()
    yield
    limiter_for.cache_clear()
    get_settings.cache_clear()


def client_at(address: str) -> TestClient:
    return TestClient(guarded_api(), raise_server_exceptions=False, client=(address, 40000))


def attempt(client: TestClient, email: str, password: str) -> httpx.Response:
    return client.post("/auth/login", json={"email": email, "password": password})


def test_lockout_is_the_same_for_unknown_emails_and_spares_other_addresses(demo: dict, budgets: None) -> None:
    attacker, owner = client_at("203.0.113.7"), client_at("198.51.100.2")
    answers: dict[str, list[tuple[int, dict]]] = {}
    for email in ("driver@acme.demo", "nobody-here@acme.demo"):
        answers[email] = [
            (r.status_code, r.json()) for r in (attempt(attacker, email, f"guess-{i}-xx") for i in range(7))
        ]
    known, unknown = answers["driver@acme.demo"], answers["nobody-here@acme.demo"]
    assert known == unknown, "the answers must not tell a known e-mail from an unknown one"
    assert [status for status, _ in known] == [401] * 5 + [429] * 2
    assert known[5][1]["error"]["message"].startswith("Too many failed attempts. Try again in")
    # Even the right password waits, from the attacker's address ...
    assert attempt(attacker, "driver@acme.demo", "pipelet-driver").status_code == 429
    # ... but the owner, elsewhere, is not locked out by someone else's guessing.
    signed_in = attempt(owner, "driver@acme.demo", "pipelet-driver")
    assert signed_in.status_code == 200 and signed_in.json() == {"home": "/driver"}


def test_per_address_budget(demo: dict, budgets: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGIN_PER_IP_PER_MINUTE", "3")
    get_settings.cache_clear()
    one, other = client_at("203.0.113.9"), client_at("203.0.113.10")
    statuses = [attempt(one, f"user{i}@x.example", "whatever-pw").status_code for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    refused = attempt(one, "fleet@acme.demo", "pipelet-fleet")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert attempt(other, "fleet@acme.demo", "pipelet-fleet").status_code == 200


@pytest.fixture
def live_api(demo: dict, budgets: None) -> Iterator[str]:
    """The guarded API on a real uvicorn server on loopback (one event loop, like the web worker)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(guarded_api(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


async def _flood(base: str, n: int, addresses: int) -> list[int]:
    """`n` bad sign-ins for unknown e-mails, all at once, from `addresses` loopback source addresses."""
    clients = [
        httpx.AsyncClient(
            base_url=base, transport=httpx.AsyncHTTPTransport(local_address=f"127.0.0.{2 + i}"), timeout=60
        )
        for i in range(addresses)
    ]
    try:
        answers = await asyncio.gather(
            *(
                clients[i % addresses].post(
                    "/auth/login",
                    json={"email": f"flood{i}@nowhere.example", "password": f"bad-password-{i}"},
                )
                for i in range(n)
            )
        )
        return [a.status_code for a in answers]
    finally:
        for c in clients:
            await c.aclose()


async def _probe(base: str, headers: dict, stop: asyncio.Event) -> list[float]:
    latencies = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as c:
        while not stop.is_set():
            began = time.perf_counter()
            response = await c.get("/api/v1/me")
            latencies.append(time.perf_counter() - began)
            assert response.status_code == 200
            await asyncio.sleep(0.02)
    return latencies


@pytest.mark.timing
def test_a_login_flood_does_not_stall_another_user(live_api: str) -> None:
    """200 bad sign-ins from 50 addresses; another user's API calls meanwhile. Before: 9.7 s stalls."""
    key = bearer("fleet@acme.demo")

    async def scenario() -> tuple[list[int], list[float]]:
        stop = asyncio.Event()
        probe = asyncio.create_task(_probe(live_api, key, stop))
        await asyncio.sleep(0.3)
        statuses = await _flood(live_api, 200, 50)
        await asyncio.sleep(0.3)
        stop.set()
        return statuses, await probe

    statuses, latencies = asyncio.run(scenario())
    assert set(statuses) <= {401, 429}, "every attempt is answered, none with a server error"
    assert statuses.count(401) >= 1 and statuses.count(429) >= 1, "some were checked, the rest turned away"
    p99 = sorted(latencies)[int(0.99 * (len(latencies) - 1))]
    print(
        f"other user's /api/v1/me during the flood: n={len(latencies)} "
        f"median={statistics.median(latencies) * 1000:.0f} ms p99={p99 * 1000:.0f} ms"
    )
    # The benchmark (benchmarks/auth_flood) holds the 200 ms goal; here the test only proves the stall
    # is gone: 200 checks on the event loop stalled the other user 9.7 s on a quiet box (longer on a
    # busy one). A fresh-clone CI run at load 7 saw one 2.4 s answer (median 23 ms), so the bound is
    # half the old stall rather than a latency goal.
    assert p99 < 5.0, f"p99 {p99:.3f} s"
