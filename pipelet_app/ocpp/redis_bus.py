"""Scale-out command routing over Redis: a command reaches the CSMS node that holds the charger's socket.

Keys and channels (prefix `pipelet:csms:`):
- `owner:{charge_point_id}` → node id holding the socket (set on connect, deleted on disconnect only by
  its owner, so a late disconnect on the old node cannot erase the new owner);
- `alive:{node}` → refreshed every few seconds with a TTL, so a crashed node's chargers read as offline
  (409) instead of every command to them timing out;
- channel `node:{node}` → command requests for that node (also `connection-alive`: a node where the
  charger opened a second socket asks whether the holder's socket answers a ping), and `kick` notices:
  when a charger's socket on another node takes over (`server._take_over`), the previous node closes
  its stale sockets (one connection per charger across the fleet);
- channel `reply:{uuid}` → the answer envelope of one request;
- channel `identity` → broadcast to every node: a charger's password, auth mode, tenant, registration
  or security-profile floor changed (by the web app, the CLI, or a node that stored a password the
  charger accepted). Each node drops its cached admission for that charger at once, so a password set
  through one node is not checked against a stale hash on another (TC_B_02). Pub/sub is at most once:
  a node whose subscription broke reloads its whole directory before it listens again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from pipelet_app.ocpp.errors import ChargerOffline, CommandTimeout
from pipelet_app.ocpp.node import Node

LOGGER = logging.getLogger("pipelet.csms.redis")
# Runs one command request on this node and returns the reply (`commands.execute_request`).
Execute = Callable[[Node, dict[str, Any]], Awaitable[dict[str, Any]]]

PREFIX = "pipelet:csms:"
ALIVE_TTL_S = 15
ALIVE_EVERY_S = 5.0
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end
"""


def owner_key(charge_point_id: str) -> str:
    return f"{PREFIX}owner:{charge_point_id}"


def node_channel(node: str) -> str:
    return f"{PREFIX}node:{node}"


def alive_key(node: str) -> str:
    return f"{PREFIX}alive:{node}"


IDENTITY_CHANNEL = f"{PREFIX}identity"
RESUBSCRIBE_S = 1.0


def identity_notice(charge_point_id: str, origin: str = "") -> str:
    return json.dumps({"type": "identity", "charge_point_id": charge_point_id, "origin": origin})


async def broadcast_identity_changed(url: str, charge_point_id: str) -> int:
    """From a process without a node (web app, CLI, a runner): tell every node; returns how many heard."""
    client: aioredis.Redis = aioredis.from_url(url, decode_responses=True)
    try:
        return int(await client.publish(IDENTITY_CHANNEL, identity_notice(charge_point_id)))
    finally:
        await client.aclose()


class RedisNodeBus:
    """The CSMS node's side: owns keys for its sockets and executes requests routed to it."""

    def __init__(self, server: Node, url: str, execute: Execute) -> None:
        self.server = server
        self._execute = execute  # commands.execute_request, passed in: commands imports this module
        self.url = url
        self.redis: aioredis.Redis = aioredis.from_url(url, decode_responses=True)
        self._pubsub: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._alive: asyncio.Task[None] | None = None

    @property
    def node(self) -> str:
        return self.server.node_id

    async def start(self) -> None:
        await self.redis.set(alive_key(self.node), "1", ex=ALIVE_TTL_S)
        await self._subscribe()
        self._reader = asyncio.create_task(self._read_forever())
        self._alive = asyncio.create_task(self._keep_alive())
        LOGGER.info("node %s joined the Redis command bus", self.node)

    async def stop(self) -> None:
        for task in (self._reader, self._alive, *self._tasks):
            if task is not None:
                task.cancel()
        with contextlib.suppress(Exception):
            for charge_point_id in list(self.server.connections):
                await self.release(charge_point_id)
            await self.redis.delete(alive_key(self.node))
            if self._pubsub is not None:
                await self._pubsub.aclose()
        await self.redis.aclose()

    async def claim(self, charge_point_id: str) -> None:
        previous = await self.redis.set(owner_key(charge_point_id), self.node, get=True)
        if previous and previous != self.node:
            LOGGER.info("%s moved from node %s; asking it to close its socket", charge_point_id, previous)
            await self.redis.publish(
                node_channel(previous), json.dumps({"type": "kick", "charge_point_id": charge_point_id})
            )

    async def identity_changed(self, charge_point_id: str) -> None:
        """This node applied an identity change; the other nodes must drop their cached admission."""
        await self.redis.publish(IDENTITY_CHANNEL, identity_notice(charge_point_id, self.node))

    async def owner_elsewhere(self, charge_point_id: str) -> bool:
        """Another node that is alive holds this charger's socket."""
        owner = await self.redis.get(owner_key(charge_point_id))
        return bool(owner) and owner != self.node and bool(await self.redis.exists(alive_key(owner)))

    async def release(self, charge_point_id: str) -> None:
        await self.redis.eval(_RELEASE, 1, owner_key(charge_point_id), self.node)  # type: ignore[misc]

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(ALIVE_EVERY_S)
            try:
                await self.redis.set(alive_key(self.node), "1", ex=ALIVE_TTL_S)
            except Exception:
                LOGGER.exception("could not refresh the alive key")

    async def _subscribe(self) -> None:
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(node_channel(self.node), IDENTITY_CHANNEL)

    async def _read_forever(self) -> None:
        """Listen; when Redis drops the subscription, identity notices may have been missed: subscribe
        again and reload the admission directory (commands retry by themselves)."""
        while True:
            try:
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                LOGGER.error("Redis subscription lost (%s); subscribing again", exc)
            await asyncio.sleep(RESUBSCRIBE_S)
            try:
                with contextlib.suppress(Exception):
                    await self._pubsub.aclose()
                await self._subscribe()
                await self.server.reload_admission()
            except Exception as exc:
                LOGGER.error("could not subscribe to Redis again (%s)", exc)

    async def _read(self) -> None:
        async for message in self._pubsub.listen():
            try:
                request = json.loads(message["data"])
            except (TypeError, ValueError):
                continue
            if request.get("type") == "identity":
                if request.get("origin") != self.node:
                    self._keep(asyncio.create_task(self._identity(str(request.get("charge_point_id")))))
                continue
            if request.get("type") == "kick":
                charge_point_id = str(request.get("charge_point_id"))
                cp = self.server.connections.get(charge_point_id)
                # Our sockets are the stale ones (the one that spoke last is on the other node): drop them
                # without touching the owner key or DB state.
                for stale in [cp, *self.server.waiting.pop(charge_point_id, [])]:
                    if stale is None:
                        continue
                    stale.on_first_frame = None
                    if self.server.connections.get(charge_point_id) is stale:
                        del self.server.connections[charge_point_id]
                    self._keep(
                        asyncio.ensure_future(stale._connection.close(1000, "connected to another node"))
                    )
                continue
            self._keep(asyncio.create_task(self._answer(request)))

    async def _identity(self, charge_point_id: str) -> None:
        try:
            await self.server.identity_changed(charge_point_id, broadcast=False)
        except Exception:  # the directory refresh applies it anyway
            LOGGER.exception("%s: could not apply an identity change", charge_point_id)

    async def _answer(self, request: dict[str, Any]) -> None:
        reply = await self._execute(self.server, request)
        reply_to = request.get("reply_to")
        if reply_to:
            await self.redis.publish(str(reply_to), json.dumps(reply))

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def request_via_redis(url: str, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Route one command envelope to the node holding the charger and wait for its answer envelope."""
    client: aioredis.Redis = aioredis.from_url(url, decode_responses=True)
    try:
        charge_point_id = str(request["charge_point_id"])
        node = await client.get(owner_key(charge_point_id))
        if not node or not await client.exists(alive_key(node)):
            raise ChargerOffline(f"{charge_point_id} is not connected to any CSMS node")
        reply_to = f"{PREFIX}reply:{uuid.uuid4()}"
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(reply_to)
        try:
            envelope = json.dumps({**request, "reply_to": reply_to})
            receivers = await client.publish(node_channel(node), envelope)
            if not receivers:
                raise ChargerOffline(f"CSMS node {node} holding {charge_point_id} is not listening")
            async with asyncio.timeout(timeout + 5):
                async for message in pubsub.listen():
                    return json.loads(message["data"])
        except TimeoutError as exc:
            raise CommandTimeout(f"no answer from CSMS node {node} within {timeout + 5:g} s") from exc
        finally:
            await pubsub.aclose()
        raise CommandTimeout("reply channel closed")
    finally:
        await client.aclose()
