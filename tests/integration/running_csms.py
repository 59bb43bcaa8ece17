"""A CSMS on a free loopback port for the time of a fixture: the one start/stop the CSMS fixtures share.

The defaults are what most tests want (a node of its own, chargers registered by the test, pings rare
enough not to show up in a test); a fixture passes only what it needs otherwise (`auto_register`, a
`node_id` its assertions name, a short `command_timeout_s`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pipelet_app.ocpp.server import CsmsServer


@asynccontextmanager
async def running_csms(
    node_id: str = "test-node",
    *,
    auto_register: bool = False,
    ping_interval_s: float = 30,
    command_timeout_s: float | None = None,
) -> AsyncIterator[CsmsServer]:
    server = CsmsServer(
        "127.0.0.1",
        0,
        node_id=node_id,
        auto_register=auto_register,
        ping_interval_s=ping_interval_s,
        command_timeout_s=command_timeout_s,
    )
    await server.start()
    yield server
    await server.stop()
