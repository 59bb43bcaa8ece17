"""MQTT clients for the broker tests (embedded dynsec broker, compose's broker, the password-file ACL):
connecting as a login, and what a subscriber received in a while.

Mosquitto drops a publish its ACL forbids without telling the sender, so the tests read "does not arrive"
from `received` against a control message sent after it on the same connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import aiomqtt


@contextlib.asynccontextmanager
async def mqtt(
    port: int, login: tuple[str, str] | None = None, client_id: str | None = None
) -> AsyncIterator[aiomqtt.Client]:
    """A client; a site login (`site-{id}`) connects with its bound client id, the user name, unless
    `client_id` says otherwise."""
    user, password = login or (None, None)
    if client_id is None:
        client_id = user if user and user.startswith("site-") else f"t-{uuid.uuid4().hex[:8]}"
    async with aiomqtt.Client("127.0.0.1", port, username=user, password=password, identifier=client_id) as c:
        yield c


async def received(sub: aiomqtt.Client, seconds: float = 1.0) -> list[tuple[str, bytes]]:
    got: list[tuple[str, bytes]] = []

    async def collect() -> None:
        async for message in sub.messages:
            got.append((str(message.topic), bytes(message.payload)))  # type: ignore[arg-type]

    reader = asyncio.create_task(collect())
    await asyncio.sleep(seconds)  # control messages come within milliseconds; forbidden ones never
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    return got
