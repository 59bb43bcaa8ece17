"""What a CSMS node offers the modules it drives: the `Node` protocol and the loopback command endpoint.

`server.CsmsServer` is the one implementation. `base`, `redis_bus` and `commands` type their server
against `Node` instead of importing `server` (which imports them: the old server <-> commands <->
redis_bus <-> base cycle), and the loopback endpoint's path and token live here because both the
server (which checks them) and `commands` (which calls it from other processes) need them.
"""

from __future__ import annotations

from typing import Any, Protocol

from pipelet_app.keys import derive

INTERNAL_PATH = "/internal/commands"
METRICS_PATH = "/internal/metrics"  # GET: the node's Prometheus text (loopback + the same token)


def internal_token() -> str:
    """Shared secret of the loopback command endpoint, derived from PIPELET_SECRET_KEY (MissingSecretKey
    without one: there is no fallback, a constant would let any local process command chargers)."""
    return derive(b"pipelet/csms-internal-commands/v1").hex()


class Node(Protocol):
    """The parts of a running CSMS node that its connections, command path and Redis bus use."""

    node_id: str
    # `base.CsmsConnection` by charge point id (typed Any: `base` imports this module).
    connections: dict[str, Any]
    waiting: dict[str, list[Any]]  # second sockets waiting for their first frame (server._take_over)
    command_timeout_s: float
    heartbeat_interval_s: int
    writer: Any  # `writer.BatchWriter`
    bus: Any  # the Redis bus in scale-out, else None
    ca: Any  # `csms_ca.CsmsCa` signing station certificates, or None
    v2g_ca: Any  # `csms_ca.CsmsCa` signing V2G certificates, or None

    async def forget_admission(self, charge_point_id: str) -> None: ...

    async def identity_changed(self, charge_point_id: str, broadcast: bool = True) -> None: ...

    async def reload_admission(self) -> None: ...

    async def connection_alive(self, charge_point_id: str) -> bool: ...
