"""A tab keeps its Reflex token when its socket reconnects before the server saw the old one close
(`runtime.socket_tokens`; Reflex's own managers mint a fresh token and state, reflex-dev/reflex#6345)."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from reflex.utils.token_manager import LocalTokenManager, TokenManager

from pipelet_app.runtime import socket_tokens
from pipelet_app.runtime.socket_tokens import SameTabRedisTokenManager, SameTabTokenManager


def _page_load(manager: LocalTokenManager) -> tuple[str | None, str | None]:
    """The new page's socket connects with the tab's token, then the old page's disconnect arrives;
    returns what the connect answered (a new token or None) and who owns the token afterwards."""

    async def run() -> tuple[str | None, str | None]:
        await manager.link_token_to_sid("tab-1", "sid-old")
        answered = await manager.link_token_to_sid("tab-1", "sid-new")
        await manager.disconnect_token("tab-1", "sid-old")
        record = manager.token_to_socket.get("tab-1")
        return answered, record.sid if record else None

    return asyncio.run(run())


def test_reflex_alone_hands_a_reconnecting_tab_a_fresh_token() -> None:
    """What the module is for: Reflex's own manager answers the page load with a new token (an empty
    state) and the late disconnect leaves the token unmapped."""
    answered, owner = _page_load(LocalTokenManager())
    assert answered is not None
    assert owner is None


def test_the_newest_socket_takes_the_token_over() -> None:
    manager = SameTabTokenManager()
    assert _page_load(manager) == (None, "sid-new")
    assert manager.sid_to_token == {"sid-new": "tab-1"}


def test_a_socket_that_closes_for_good_forgets_its_token() -> None:
    manager = SameTabTokenManager()

    async def run() -> None:
        await manager.link_token_to_sid("tab-1", "sid-1")
        await manager.link_token_to_sid("tab-2", "sid-2")
        await manager.disconnect_token("tab-1", "sid-1")

    asyncio.run(run())
    assert "tab-1" not in manager.token_to_socket and "sid-1" not in manager.sid_to_token
    assert manager.token_to_socket["tab-2"].sid == "sid-2"


def test_install_makes_reflex_build_the_same_tab_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TokenManager, "create", TokenManager.__dict__["create"])  # undone after the test
    socket_tokens.install()
    socket_tokens.install()  # twice is once
    monkeypatch.setattr("reflex.utils.prerequisites.check_redis_used", lambda: False)
    assert type(TokenManager.create()) is SameTabTokenManager


REDIS_URL = "redis://127.0.0.1:6379/12"


def _redis_or_skip() -> Redis:
    async def ping() -> bool:
        client = Redis.from_url(REDIS_URL)
        try:
            return bool(await client.ping())
        except OSError:
            return False
        finally:
            await client.aclose()

    if not asyncio.run(ping()):
        pytest.skip(f"no Redis at {REDIS_URL}")
    return Redis.from_url(REDIS_URL)


def test_on_redis_the_newest_socket_takes_the_token_over_too() -> None:
    """The scale-out manager against the real Redis on loopback: the record in Redis names the new
    socket, and the old socket's disconnect leaves it there."""
    _redis_or_skip()

    async def run() -> tuple[str | None, str | None, bool]:
        redis = Redis.from_url(REDIS_URL)
        manager = SameTabRedisTokenManager(redis)
        token = f"tab-{id(manager)}"
        try:
            await manager.link_token_to_sid(token, "sid-old")
            answered = await manager.link_token_to_sid(token, "sid-new")
            await manager.disconnect_token(token, "sid-old")
            owner = manager.token_to_socket.get(token)
            stored = await redis.exists(manager._get_redis_key(token))
            await manager.disconnect_token(token, "sid-new")
            return answered, owner.sid if owner else None, bool(stored)
        finally:
            await manager.close()
            await redis.aclose()

    assert asyncio.run(run()) == (None, "sid-new", True)
