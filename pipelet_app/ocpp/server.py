"""The WebSocket server: admission at the upgrade, the connection registry and liveness.

Admission happens in `process_request`, before the 101: the path must be `/ocpp/{charge_point_id}` with
an id from the safe charset (`identity`), the client must offer `ocpp1.6` or `ocpp2.0.1`, the id must be
known (or CSMS_AUTO_REGISTER=1), and the charger must present its password by HTTP Basic (security
profiles 1 and 2) unless `admission` lets it in without. Refusals are plain HTTP answers (400, 401, 404,
409, 429/503 with Retry-After), so a misconfigured charger never gets a socket it would then lose.

Liveness is our own ping loop rather than websockets' keepalive, so the registry knows the last pong;
a charger that misses one pong for a whole interval is cut off, and is therefore marked offline within
two ping intervals. A second socket with the same id takes over the station's connection when it
speaks (its first OCPP frame), or at once when the first one fails a ping (half-open after a network
drop); until then commands go to the first one, and a second socket that closes without speaking leaves
it untouched. One without credentials never replaces an authenticated socket, nor an unauthenticated
one that still answers a ping (409); see docs/charger-identity.md.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import hmac
import http
import json
import logging
import math
import random
import re
import socket
import ssl
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, NegotiationError
from websockets.http11 import Request, Response

from pipelet_app import logs, metrics
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger
from pipelet_app.ocpp import chargers, commands, security_profile
from pipelet_app.ocpp.admission import Admission, Entry
from pipelet_app.ocpp.base import CsmsConnection
from pipelet_app.ocpp.csms_ca import CsmsCa, configured_ca, configured_v2g_ca
from pipelet_app.ocpp.heap import FrozenHeap
from pipelet_app.ocpp.identity import ID_RULE, valid_charge_point_id
from pipelet_app.ocpp.node import INTERNAL_PATH, METRICS_PATH, internal_token
from pipelet_app.ocpp.registration import ACCEPTED, PENDING, Registration, awaiting_operator
from pipelet_app.ocpp.security_profile import refusal
from pipelet_app.ocpp.tls import certificate_identity, connection_profile, peer_certificate
from pipelet_app.ocpp.writer import BatchWriter
from pipelet_app.settings import get_settings

LOGGER = logging.getLogger("pipelet.csms")

SUBPROTOCOLS = ("ocpp2.0.1", "ocpp1.6")
SUPPORTED = frozenset(SUBPROTOCOLS)
_PATH = re.compile(r"/ocpp/([^/]+)/?")
REPLACE_PROBE_S = 3.0  # how long an existing unauthenticated socket has to answer a ping
# websockets closes the socket (1009) above this; between MAX_MESSAGE_BYTES and this we answer a CallError.
MAX_FRAME_BYTES = 16 << 20
FLUSH_EVERY_S = 10.0
MESSAGE_LOG_DAYS = 30  # the operator's "recent message log"; retries are only matched within 24 h


def offered_subprotocols(headers: Headers) -> list[str]:
    offered: list[str] = []
    for value in headers.get_all("Sec-WebSocket-Protocol"):
        offered.extend(part.strip() for part in value.split(",") if part.strip())
    return offered


def _basic_credentials(headers: Headers) -> tuple[str, str] | None:
    value = headers.get("Authorization", "")
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return (user, password) if sep else None


def default_node_id(port: int) -> str:
    return f"{socket.gethostname()}:{port}"


class CsmsServer:
    """One CSMS node. `await start()`, then `await stop()`; `connections` is the live registry."""

    def __init__(
        self,
        host: str = "0.0.0.0",
        port: int | None = None,
        *,
        node_id: str | None = None,
        auto_register: bool | None = None,
        auto_register_per_minute: int | None = None,
        ping_interval_s: float | None = None,
        command_timeout_s: float | None = None,
        heartbeat_interval_s: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
        ca: CsmsCa | None = None,
        v2g_ca: CsmsCa | None = None,
        freeze_heap: bool = False,
    ) -> None:
        """`freeze_heap`: manage the process's cyclic GC (see `heap`); for the CSMS's own process, not
        for a test or another program that merely hosts a server."""
        settings = get_settings()
        self.host = host
        self.requested_port = settings.csms_port if port is None else port
        self.auto_register = settings.csms_auto_register if auto_register is None else auto_register
        self.ping_interval_s = settings.csms_ping_interval_s if ping_interval_s is None else ping_interval_s
        # Not (yet) in Settings: read when present, so adding CSMS_HEARTBEAT_INTERVAL_S /
        # CSMS_COMMAND_TIMEOUT_S there is all it takes to make them configurable.
        self.command_timeout_s = (
            float(getattr(settings, "csms_command_timeout_s", 30.0))
            if command_timeout_s is None
            else command_timeout_s
        )
        self.heartbeat_interval_s = (
            int(getattr(settings, "csms_heartbeat_interval_s", 300))
            if heartbeat_interval_s is None
            else heartbeat_interval_s
        )
        self.ssl_context = ssl_context
        self.ca = configured_ca() if ca is None else ca  # signs chargers' CSRs (csms_ca)
        self.v2g_ca = configured_v2g_ca() if v2g_ca is None else v2g_ca  # signs their V2G CSRs
        self._node_id = node_id
        self.connections: dict[str, CsmsConnection] = {}
        # Second sockets waiting for their first frame to take over (`_take_over`), by charge point id.
        self.waiting: dict[str, list[CsmsConnection]] = {}
        self._server: Server | None = None
        self._port = 0
        self._background: set[asyncio.Task[Any]] = set()
        self._flusher: asyncio.Task[None] | None = None
        self._last_flush = time.time()
        self.bus: Any = None  # set by commands.attach_server (Redis subscriber in scale-out)
        self.writer = BatchWriter(writers=1 if settings.is_sqlite else 4)
        self._state_locks: dict[str, asyncio.Lock] = {}
        # (charger id, firmware) whose California-pricing question is settled (declared or answered):
        # a reconnecting charger's Boot then skips the lookup (v16.py).
        self.california_settled: set[tuple[int, str]] = set()
        self.admission = Admission(
            self.auto_register,
            settings.csms_auto_register_per_minute
            if auto_register_per_minute is None
            else auto_register_per_minute,
        )
        self._stopping = False
        self.heap = FrozenHeap() if freeze_heap else None

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        """The bound port (differs from the requested one when that was 0)."""
        return self._port or self.requested_port

    @property
    def node_id(self) -> str:
        if self._node_id is None and self._port:
            self._node_id = default_node_id(self._port)  # asked for on every connect: resolve once
        return self._node_id or default_node_id(self.port)

    async def start(self) -> None:
        await asyncio.to_thread(self.admission.refresh)
        self._server = await serve(
            self._handle,
            self.host,
            self.requested_port,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            ping_interval=None,  # our own loop, see _ping_loop
            max_size=MAX_FRAME_BYTES,
            compression=None,  # chargers rarely negotiate it; it costs memory per socket
            ssl=self.ssl_context,
            close_timeout=5,
            # Handshakes queue up behind admission lookups in a reconnect storm; 10 s (the default)
            # dropped thousands of them on a loaded machine. Chargers on cellular links are slow too.
            open_timeout=30,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        self.writer.start()
        stale = await asyncio.to_thread(self._mark_node_offline, "csms restarted")
        if stale:
            LOGGER.info("marked %d chargers offline that this node held before a restart", stale)
        self._flusher = asyncio.create_task(self._flush_liveness_loop())
        await commands.attach_server(self)
        if redis_url := get_settings().redis_url:  # scale-out: the web app reads every node's metrics there
            self._spawn(
                metrics.publish_forever(
                    redis_url,
                    f"csms:{self.node_id}",
                    lambda: metrics.CSMS_WRITE_QUEUE.set(self.writer.pending),
                )
            )
        LOGGER.info("CSMS node %s listening on %s:%d", self.node_id, self.host, self.port)

    async def stop(self) -> None:
        """Close every socket (1001 going away), then mark this node's chargers offline."""
        self._stopping = True
        await commands.detach_server(self)
        if self._flusher is not None:
            self._flusher.cancel()
        if self._server is not None:
            self._server.close(close_connections=True)
            try:
                await asyncio.wait_for(self._server.wait_closed(), timeout=10)
            except TimeoutError:
                LOGGER.warning("some connections did not close in time")
        for task in list(self._background):
            task.cancel()
        await self.writer.stop()
        self.admission.close()
        await asyncio.to_thread(self._mark_node_offline, "csms stopped")

    def _mark_node_offline(self, reason: str) -> int:
        with session_scope() as db:
            return chargers.mark_node_offline(db, self.node_id, reason)

    # ------------------------------------------------------------------ admission
    def _select_subprotocol(self, connection: ServerConnection, subprotocols: Any) -> Any:
        if getattr(connection, "pipelet", {}).get("kind") == "internal":
            return None
        for offered in subprotocols:  # the charger's order is its preference
            if offered in SUPPORTED:
                return offered
        raise NegotiationError("no supported OCPP subprotocol")

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == INTERNAL_PATH:
            return self._admit_internal(connection, request)
        if path == METRICS_PATH:
            return self._serve_metrics(connection, request)
        match = _PATH.fullmatch(path)
        charge_point_id = unquote(match.group(1)) if match else ""
        if not match:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "expected /ocpp/{charge_point_id}\n")
        if not valid_charge_point_id(charge_point_id):
            LOGGER.info("refused a charge point id outside the safe charset")
            return connection.respond(http.HTTPStatus.BAD_REQUEST, f"charge point id: {ID_RULE}\n")
        if not any(p in SUPPORTED for p in offered_subprotocols(request.headers)):
            LOGGER.info("%s: refused, no supported subprotocol offered", charge_point_id)
            return connection.respond(http.HTTPStatus.BAD_REQUEST, "offer subprotocol ocpp1.6 or ocpp2.0.1\n")
        credentials = _basic_credentials(request.headers)
        source = connection.remote_address[0] if connection.remote_address else ""
        certificate = peer_certificate(connection.transport)
        if certificate is not None:  # verified against CSMS_TLS_CLIENT_CA in the handshake
            if certificate_identity(certificate) != charge_point_id:
                LOGGER.warning("%s: refused a client certificate issued to someone else", charge_point_id)
                return connection.respond(
                    http.HTTPStatus.FORBIDDEN, "client certificate is not for this id\n"
                )
            verdict = await self.admission.admit_certificate(charge_point_id)
        else:
            verdict = await self.admission.admit(charge_point_id, credentials, source)
        if verdict.kind == "unknown":
            LOGGER.info("%s: refused, unknown charge point", charge_point_id)
            return connection.respond(http.HTTPStatus.NOT_FOUND, "unknown charge point\n")
        if verdict.kind == "unauthorized":
            LOGGER.warning("%s: refused from %s: %s", charge_point_id, source, verdict.reason)
            response = connection.respond(http.HTTPStatus.UNAUTHORIZED, "invalid credentials\n")
            response.headers["WWW-Authenticate"] = 'Basic realm="pipelet-csms"'
            return response
        if verdict.kind in ("throttled", "busy"):
            LOGGER.info("%s: refused from %s: %s", charge_point_id, source, verdict.reason)
            status = (
                http.HTTPStatus.TOO_MANY_REQUESTS
                if verdict.kind == "throttled"
                else http.HTTPStatus.SERVICE_UNAVAILABLE
            )
            response = connection.respond(status, f"{verdict.reason}, retry later\n")
            response.headers["Retry-After"] = str(max(1, math.ceil(verdict.retry_after_s)))
            return response
        entry = self.admission.entry(charge_point_id)
        if entry is not None and (entry.security_profile or entry.profile_target):
            profile = connection_profile(self.ssl_context is not None, certificate, credentials is not None)
            if why := refusal(profile, entry.security_profile):
                LOGGER.warning("%s: refused from %s: %s", charge_point_id, source, why)
                return connection.respond(http.HTTPStatus.UNAUTHORIZED, f"{why}\n")
            if entry.profile_target is not None and profile >= entry.profile_target:
                await asyncio.to_thread(self._profile_reached, charge_point_id, entry.charger_id, profile)
                await self._broadcast_identity(charge_point_id)  # no fallback on the other nodes either
        previous = self.connections.get(charge_point_id)
        replace_now = False
        if previous is not None and not verdict.authenticated:
            if await self._keeps_socket(previous):
                LOGGER.warning(
                    "%s: refused a second, unauthenticated socket from %s", charge_point_id, source
                )
                return connection.respond(http.HTTPStatus.CONFLICT, "charge point already connected\n")
            replace_now = True  # the previous one is unauthenticated and failed its ping just now
        connection.pipelet = {  # type: ignore[attr-defined]
            "kind": "charger",
            "charge_point_id": charge_point_id,
            "charger_id": verdict.charger_id,
            "authenticated": verdict.authenticated,
            "password_hash": verdict.password_hash,
            "replace_now": replace_now,
        }
        return None

    def _profile_reached(self, charge_point_id: str, charger_id: int, profile: int) -> None:
        """The charger came up on the profile it was told to use: no connection below it from now on."""
        with session_scope() as db:
            security_profile.reached(db, charger_id, profile)
            chargers.record_security_event(
                db,
                charge_point_id,
                "SecurityProfileRaised",
                utcnow(),
                charger_id=charger_id,
                tech_info=f"connected with security profile {profile}; lower ones are refused from now on",
                source="csms",
            )
        self.admission.lookup(charge_point_id)

    async def _keeps_socket(self, previous: CsmsConnection) -> bool:
        """Whether an existing socket stands against a newcomer without credentials: always when it
        authenticated; otherwise while it still answers a ping (a charger whose old TCP connection went
        half-open must be able to come back; an impostor must not push a live charger off)."""
        if previous.closed:
            return False
        if previous.authenticated:
            return True
        return await self._answers_ping(previous)

    @staticmethod
    async def _answers_ping(cp: CsmsConnection) -> bool:
        if cp.closed:
            return False
        try:
            waiter = await cp._connection.ping()
            await asyncio.wait_for(waiter, REPLACE_PROBE_S)
        except (TimeoutError, ConnectionClosed):
            return False
        return not cp.closed

    async def connection_alive(self, charge_point_id: str) -> bool:
        """Asked by another node where the charger opened a second socket: does ours answer a ping?"""
        cp = self.connections.get(charge_point_id)
        return cp is not None and await self._answers_ping(cp)

    async def forget_admission(self, charge_point_id: str) -> None:
        """Called after the charger on this node accepted a new password: look it up afresh, and keep
        its socket (TC_073). The socket counts as authenticated from now on, even one admitted without
        credentials (an unclaimed station being provisioned): whoever holds it was just handed the
        password over it, so it holds what a Basic login would prove."""
        self.admission.forget(charge_point_id)
        cp = self.connections.get(charge_point_id)
        if cp is not None:
            await self._adopt_new_password(cp)
        await self._broadcast_identity(charge_point_id)

    async def identity_changed(self, charge_point_id: str, broadcast: bool = True) -> None:
        """The web app changed the charger's password, auth mode, tenant or registration (or this node
        raised its profile floor): decide afresh from now on, and close its socket if the grounds it was
        admitted on no longer hold. `broadcast`: tell the other nodes too (not when they told us)."""
        if broadcast:
            await self._broadcast_identity(charge_point_id)
        self.admission.forget(charge_point_id)
        entry = await asyncio.to_thread(self.admission.lookup, charge_point_id)
        cp = self.connections.get(charge_point_id)
        if cp is None or cp.closed:
            return
        if not self.admission.still_admits(charge_point_id, cp.authenticated, cp.admitted_hash):
            LOGGER.warning("%s: closing a socket whose admission no longer holds", charge_point_id)
            self._spawn(cp._connection.close(1008, "credentials required"))
        else:
            self._finish_pending_boot(cp, entry)

    async def _broadcast_identity(self, charge_point_id: str) -> None:
        """Scale-out: the other nodes drop their cached admission for this charger at once (instead of
        at their next directory reload, up to `admission.REFRESH_S` later)."""
        if self.bus is not None:
            await self._bus_call(self.bus.identity_changed, charge_point_id)

    async def reload_admission(self) -> None:
        """Reload the whole directory now (after the Redis bus lost notices) and drop sockets whose
        admission no longer holds."""
        await asyncio.to_thread(self.admission.refresh)
        self._drop_unadmissible()

    async def _adopt_new_password(self, cp: CsmsConnection) -> None:
        entry = await asyncio.to_thread(self.admission.lookup, cp.charge_point_id)
        if entry is not None and entry.password_hash is not None:
            cp.admitted_hash = entry.password_hash
            cp.authenticated = True
        self._finish_pending_boot(cp, entry)

    def _finish_pending_boot(self, cp: CsmsConnection, entry: Entry | None) -> None:
        """A 2.0.1 station waiting in Pending that an operator now holds (and no longer holds back,
        `registration_status`), on a socket that stays: have it boot again now (TriggerMessage),
        instead of after its retry interval."""
        if (
            entry is not None
            and not awaiting_operator(entry.claimed, entry.auth_mode, entry.password_hash is not None)
            and entry.registration_status == ACCEPTED
            and cp.registration.status == PENDING
            and not cp.registration.boot_asked
            and not cp.closed
            and self.admission.still_admits(cp.charge_point_id, cp.authenticated, cp.admitted_hash)
        ):
            finish = getattr(cp, "finish_pending_boot", None)
            if finish is not None:
                cp.registration.boot_asked = True
                self._spawn(finish())

    def _drop_unadmissible(self) -> None:
        """After a refresh: close sockets admitted on grounds that no longer hold (the charger was
        claimed or got a password while an unauthenticated socket held it, its password was rotated
        elsewhere, or it was removed). The charger reconnects with its credentials."""
        for cp_id, cp in list(self.connections.items()):
            if cp.closed or self.admission.still_admits(cp_id, cp.authenticated, cp.admitted_hash):
                continue
            LOGGER.warning("%s: closing a socket whose admission no longer holds", cp_id)
            self._spawn(cp._connection.close(1008, "credentials required"))

    @staticmethod
    def _internal_peer(connection: ServerConnection, request: Request) -> bool:
        host = connection.remote_address[0] if connection.remote_address else ""
        token = request.headers.get("X-Pipelet-Token", "")
        return host in ("127.0.0.1", "::1", "::ffff:127.0.0.1") and hmac.compare_digest(
            token, internal_token()
        )

    def _admit_internal(self, connection: ServerConnection, request: Request) -> Response | None:
        if not self._internal_peer(connection, request):
            return connection.respond(http.HTTPStatus.FORBIDDEN, "forbidden\n")
        connection.pipelet = {"kind": "internal"}  # type: ignore[attr-defined]
        return None

    def _serve_metrics(self, connection: ServerConnection, request: Request) -> Response:
        """This node's Prometheus text, for the web app's `/api/v1/metrics` on the same host (loopback and
        the internal token only, like the command endpoint: it names chargers' actions and counts)."""
        if not self._internal_peer(connection, request):
            return connection.respond(http.HTTPStatus.FORBIDDEN, "forbidden\n")
        metrics.CSMS_WRITE_QUEUE.set(self.writer.pending)
        response = connection.respond(http.HTTPStatus.OK, metrics.render().decode())
        response.headers["Content-Type"] = metrics.CONTENT_TYPE
        return response

    # ------------------------------------------------------------------ connections
    async def _handle(self, connection: ServerConnection) -> None:
        info = getattr(connection, "pipelet", {})
        if info.get("kind") == "internal":
            await self._serve_internal(connection)
            return
        from pipelet_app.ocpp.v16 import ChargePoint16
        from pipelet_app.ocpp.v201 import ChargePoint201

        cls = ChargePoint16 if connection.subprotocol == "ocpp1.6" else ChargePoint201
        charge_point_id = info["charge_point_id"]
        logs.charger_id.set(charge_point_id)  # this socket's task: its lines and its tasks' carry the id
        cp = cls(charge_point_id, connection, info["charger_id"], self)
        cp.authenticated = info["authenticated"]
        cp.admitted_hash = info["password_hash"]
        if cls is ChargePoint201:
            # Looked up again when a refresh or a password change dropped it since the upgrade: a claimed
            # station taken for an unclaimed one would get SecurityError for everything until it booted.
            entry = self.admission.entry(charge_point_id) or await asyncio.to_thread(
                self.admission.lookup, charge_point_id
            )
            waits = entry is None or awaiting_operator(
                entry.claimed, entry.auth_mode, entry.password_hash is not None
            )
            cp.registration = Registration(PENDING if waits else ACCEPTED)
        previous = self.connections.get(charge_point_id)
        if previous is not None and not previous.closed and not info.get("replace_now"):
            self._wait_for_first_frame(cp, previous)
        elif await self._elsewhere(charge_point_id):
            self._wait_for_first_frame(cp, None)
        elif not await self._take_over(cp):
            return
        if self.heap is not None:
            self.heap.connection_opened()
        pinger = asyncio.create_task(self._ping_loop(cp, connection))
        open_sockets = metrics.CSMS_CONNECTIONS.labels(cls.ocpp_version)
        open_sockets.inc()
        LOGGER.info("%s: connected (%s)", charge_point_id, cls.ocpp_version)
        try:
            await cp.start()
        finally:
            open_sockets.dec()
            pinger.cancel()
            await cp.cancel_tasks()
            # Under the per-charger lock, so a reconnect's "online" can never be overwritten by the old
            # socket's late "offline" (both run on worker threads).
            successor: CsmsConnection | None = None
            async with self._state_lock(charge_point_id):
                self._stop_waiting(cp)
                if self.connections.get(charge_point_id) is cp and self._stopping:
                    # Shutting down: `stop()` marks all of this node's chargers offline in one statement.
                    del self.connections[charge_point_id]
                elif self.connections.get(charge_point_id) is cp and (successor := self._newest_waiting(cp)):
                    # A second socket was waiting to speak: it is the station's connection from now on.
                    self.connections[charge_point_id] = successor
                elif self.connections.get(charge_point_id) is cp:
                    del self.connections[charge_point_id]
                    reason = (
                        f"closed ({connection.close_code})" if connection.close_code else "connection lost"
                    )
                    try:
                        await self.writer.run(
                            lambda db: chargers.mark_disconnected(db, cp.charger_id, self.node_id, reason),
                            key=cp.charger_id,
                        )
                    except Exception as exc:  # the stale sweep marks it offline later
                        LOGGER.warning("%s: could not record the disconnect: %s", charge_point_id, exc)
                    if self.bus is not None:
                        await self._bus_call(self.bus.release, charge_point_id)
            if successor is not None:
                LOGGER.info("%s: the previous socket closed; the waiting one takes over", charge_point_id)
                await self._take_over(successor)
            if charge_point_id not in self.connections and charge_point_id not in self.waiting:
                self._state_locks.pop(charge_point_id, None)
            if self.heap is not None:
                self.heap.connection_closed()
            LOGGER.info("%s: disconnected", charge_point_id)

    # ------------------------------------------------------------------ a second socket for one id
    # The OCPP-J station keeps one connection open; a second one under its id is either the station
    # reconnecting (its old TCP connection half-open: it speaks at once, BootNotification or
    # StatusNotification, or the old one fails a ping) or a short-lived probe with valid credentials
    # (OCTT TC_A_04/A_07 open and close one per TLS cipher suite while the station's socket stays).
    # So the newcomer waits: it takes over when it sends its first frame, or when the current socket
    # fails a ping or closes; a probe that never speaks leaves the connection alone. Commands go to
    # the socket in `connections`, the one that spoke (or the only one).

    def _wait_for_first_frame(self, cp: CsmsConnection, current: CsmsConnection | None) -> None:
        charge_point_id = cp.charge_point_id
        LOGGER.info("%s: a second socket; it takes over when it speaks", charge_point_id)
        self.waiting.setdefault(charge_point_id, []).append(cp)
        cp.on_first_frame = functools.partial(self._take_over, cp)
        self._spawn(self._take_over_if_dead(cp, current))

    async def _take_over_if_dead(self, cp: CsmsConnection, current: CsmsConnection | None) -> None:
        """Don't make a reconnected station that stays silent wait for the ping loop to find its old
        socket dead: ping it now (on another node: ask that node), and take over if it fails."""
        if current is not None:
            alive = await self._answers_ping(current)
        else:
            alive = await commands.alive_elsewhere(cp.charge_point_id, REPLACE_PROBE_S)
        if not alive and cp in self.waiting.get(cp.charge_point_id, ()):
            LOGGER.info("%s: the previous socket does not answer; the new one takes over", cp.charge_point_id)
            cp.on_first_frame = None
            await self._take_over(cp)

    async def _elsewhere(self, charge_point_id: str) -> bool:
        """Scale-out: another live node holds this charger's socket."""
        if self.bus is None:
            return False
        try:
            return bool(await self.bus.owner_elsewhere(charge_point_id))
        except Exception as exc:
            LOGGER.error("%s: Redis unavailable (%s); taking the socket over", charge_point_id, exc)
            return False

    def _stop_waiting(self, cp: CsmsConnection) -> bool:
        waiting = self.waiting.get(cp.charge_point_id)
        if waiting is None or cp not in waiting:
            return False
        waiting.remove(cp)
        if not waiting:
            del self.waiting[cp.charge_point_id]
        return True

    def _newest_waiting(self, current: CsmsConnection) -> CsmsConnection | None:
        for cp in reversed(self.waiting.get(current.charge_point_id, [])):
            if not cp.closed and not self._stopping:
                return cp  # `_take_over` takes it off the waiting list
        return None

    async def _take_over(self, cp: CsmsConnection) -> bool:
        """Make `cp` the station's connection (closing the previous one) and record it as connected.
        Returns whether it is the connection now; False when it was closed instead."""
        charge_point_id = cp.charge_point_id
        waited = self._stop_waiting(cp)
        cp.on_first_frame = None
        if cp.closed:
            return False
        if waited and self.admission.entry(charge_point_id) is None:
            await asyncio.to_thread(self.admission.lookup, charge_point_id)
        if waited and not self.admission.still_admits(charge_point_id, cp.authenticated, cp.admitted_hash):
            LOGGER.warning("%s: a waiting socket's admission no longer holds; closing it", charge_point_id)
            self._spawn(cp._connection.close(1008, "credentials required"))
            return False
        previous = self.connections.get(charge_point_id)
        self.connections[charge_point_id] = cp
        if previous is not None and previous is not cp:
            LOGGER.info("%s: new connection replaces the previous one", charge_point_id)
            self._spawn(previous._connection.close(1000, "replaced by a new connection"))
        try:
            async with self._state_lock(charge_point_id):
                await self.writer.run(
                    lambda db: chargers.mark_connected(db, cp.charger_id, self.node_id, cp.ocpp_version),
                    key=cp.charger_id,
                )
        except Exception:
            # Without its online state recorded the charger must not look connected: refuse, it retries.
            LOGGER.exception("%s: could not record the connection; closing it", charge_point_id)
            if self.connections.get(charge_point_id) is cp:
                del self.connections[charge_point_id]
            await cp._connection.close(1011, "CSMS database unavailable")
            return False
        if self.bus is not None:
            await self._bus_call(self.bus.claim, charge_point_id)
        return self.connections.get(charge_point_id) is cp

    async def _bus_call(self, method: Any, charge_point_id: str) -> None:
        """Redis trouble costs scale-out routing for this charger, never the charger's connection."""
        try:
            await method(charge_point_id)
        except Exception as exc:
            LOGGER.error(
                "%s: Redis command bus unavailable (%s); commands via other nodes will fail",
                charge_point_id,
                exc,
            )

    def _state_lock(self, charge_point_id: str) -> asyncio.Lock:
        return self._state_locks.setdefault(charge_point_id, asyncio.Lock())

    async def _ping_loop(self, cp: CsmsConnection, connection: ServerConnection) -> None:
        interval = self.ping_interval_s
        if not interval or interval <= 0:
            return
        # Chargers connect in bursts (a reboot, a storm); unjittered, their pings would stay in phase and
        # arrive as one burst every interval, a latency spike for everybody.
        await asyncio.sleep(random.uniform(0, interval))
        while True:
            try:
                waiter = await connection.ping()
                await asyncio.wait_for(waiter, interval)
            except TimeoutError:
                LOGGER.warning("%s: no pong within %.0f s, dropping the socket", cp.charge_point_id, interval)
                connection.transport.abort()
                return
            except ConnectionClosed:
                return
            cp.last_pong_at = time.time()
            await asyncio.sleep(interval)

    async def _flush_liveness_loop(self) -> None:
        """Housekeeping every few seconds: batch `last_seen_at` for every charger heard from (message or
        pong) since the last flush; sweep chargers that claim to be online but nobody has touched (their
        node died without a restart); hourly, prune the message log."""
        last_prune = 0.0
        while True:
            await asyncio.sleep(min(FLUSH_EVERY_S, self.ping_interval_s or FLUSH_EVERY_S))
            if self.heap is not None:
                self.heap.tick(len(self.connections))
            if self.admission.due():
                try:
                    await self.reload_admission()
                except Exception:
                    LOGGER.exception("could not reload the admission directory")
            since, self._last_flush = self._last_flush, time.time()
            ids = [
                cp.charger_id
                for cp in self.connections.values()
                if max(cp.last_message_at, cp.last_pong_at) >= since
            ]
            try:
                if ids:
                    await asyncio.to_thread(self._touch_many, ids)
                stale_after = 3 * max(self.ping_interval_s or 0, FLUSH_EVERY_S) + FLUSH_EVERY_S
                await asyncio.to_thread(self._sweep, stale_after)
                if time.time() - last_prune > 3600:
                    last_prune = time.time()
                    await asyncio.to_thread(self._prune)
            except Exception:
                LOGGER.exception("liveness housekeeping failed")

    def _sweep(self, stale_after_s: float) -> None:
        with session_scope() as db:
            swept = chargers.sweep_stale(db, stale_after_s, keep=set(self.connections))
        if swept:
            LOGGER.warning(
                "marked %d chargers offline: online in the database but silent for %.0f s",
                swept,
                stale_after_s,
            )

    def _prune(self) -> None:
        with session_scope() as db:
            removed = chargers.prune_message_log(db, MESSAGE_LOG_DAYS)
        if removed:
            LOGGER.info("pruned %d message log rows older than %d days", removed, MESSAGE_LOG_DAYS)

    def _touch_many(self, ids: list[int]) -> None:
        """One short transaction per chunk, rows in id order: message handlers update the same rows, and
        long multi-row updates in arbitrary order deadlock with them on PostgreSQL. A chunk that still
        loses a deadlock is simply skipped; the next flush, seconds later, writes it."""
        now = utcnow()
        ordered = sorted(set(ids))
        for start in range(0, len(ordered), 200):
            chunk = ordered[start : start + 200]
            try:
                with session_scope() as db:
                    db.exec(update(Charger).where(Charger.id.in_(chunk)).values(last_seen_at=now))  # type: ignore[union-attr,call-overload]
            except OperationalError as exc:
                LOGGER.info(
                    "liveness flush of %d chargers deferred: %s", len(chunk), str(exc).splitlines()[0]
                )

    # ------------------------------------------------------------------ commands
    async def send_local(
        self, charge_point_id: str, action: str, payload: dict[str, Any], timeout: float | None
    ) -> dict[str, Any]:
        """Send a Call to a charger connected to this node (raises ChargerOffline if it is not)."""
        from pipelet_app.ocpp.errors import ChargerOffline

        cp = self.connections.get(charge_point_id)
        if cp is None or cp.closed:
            raise ChargerOffline(f"{charge_point_id} is not connected")
        return await cp.send_call(action, payload, timeout)

    async def _serve_internal(self, connection: ServerConnection) -> None:
        """Loopback command endpoint: one JSON request per message, answers may interleave."""

        async def answer(request: dict[str, Any]) -> None:
            reply = await commands.execute_request(self, request)
            with contextlib.suppress(ConnectionClosed):
                await connection.send(json.dumps(reply))

        tasks: set[asyncio.Task[None]] = set()
        try:
            async for raw in connection:
                try:
                    request = json.loads(raw)
                    if not isinstance(request, dict):
                        raise ValueError
                except ValueError:
                    await connection.send(
                        json.dumps({"ok": False, "error": "invalid", "description": "bad JSON"})
                    )
                    continue
                task = asyncio.create_task(answer(request))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except ConnectionClosed:
            pass
        finally:
            for task in tasks:
                task.cancel()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
