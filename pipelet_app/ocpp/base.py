"""What every charger connection does regardless of OCPP version.

`CsmsConnection` replaces the `ocpp` library's receive loop and dispatcher while keeping its
`ChargePoint` classes, `@on` route map, dataclasses and JSON schemas:

- frames are parsed by `framing` (the library drops unparsable frames silently and swaps
  NotImplemented / NotSupported);
- a Call's handler runs on the group-commit writer (`writer`) inside a database transaction together
  with the message-log row, and the answer is sent only after that transaction committed;
- a Call retried with the same unique id, action and payload gets the stored answer again instead of
  being applied twice (for the actions in `IDEMPOTENT_ACTIONS`);
- outgoing calls are matched to their answers by unique id; an answer nobody waits for is logged and
  dropped; only one outgoing call is in flight at a time, as OCPP-J requires.

Handlers are plain synchronous methods: ``def on_x(self, db, **snake_case_payload) -> call_result``.
Follow-up calls belong in ``@after`` handlers, which run as tasks after the answer went out.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import is_dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson
from ocpp.charge_point import camel_to_snake_case as _library_camel_to_snake
from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.routing import create_route_map
from sqlalchemy import bindparam
from sqlmodel import Session, select
from websockets.exceptions import ConnectionClosed

from pipelet_app import metrics
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import OcppMessage
from pipelet_app.ocpp import chargers, framing, local_list, reservations
from pipelet_app.ocpp.csms_ca import COMBINED, V2G, CsrRejected
from pipelet_app.ocpp.device_model import mark_profiles_cleared
from pipelet_app.ocpp.errors import (
    CallRejected,
    ChargerOffline,
    CommandCallError,
    CommandTimeout,
    InvalidCommandPayload,
)
from pipelet_app.ocpp.registration import ACCEPTED, Registration
from pipelet_app.ocpp.timefmt import parse_utc
from pipelet_app.ocpp.validation import validate
from pipelet_app.ocpp.writer import defer_insert

if TYPE_CHECKING:
    from pipelet_app.ocpp.node import Node

LOGGER = logging.getLogger("pipelet.csms")

# Largest frame handled (docs/ocpp-energy-rules.md): a ten-hour StopTransaction with its transactionData is
# ~160 KB and a full 2.0.1 NotifyReport more; larger ones get a FormatViolation CallError (socket kept).
MAX_MESSAGE_BYTES = 4 << 20
RETRY_WINDOW_S = 24 * 3600
LOGGED_PAYLOAD_CHARS = 4096  # refused frames can be huge; the log keeps their beginning
RECENT_ANSWERS = 64  # answers kept per connection to replay retries without a database lookup
DB_RETRY_CHECKS = 32  # first state-changing messages of a connection also checked against the log

IDEMPOTENT_ACTIONS = frozenset(
    {
        "StartTransaction",
        "StopTransaction",
        "MeterValues",
        "StatusNotification",
        "TransactionEvent",
        "DataTransfer",
        "SecurityEventNotification",
        "NotifyReport",
        "NotifyEVChargingNeeds",
        "FirmwareStatusNotification",
        "DiagnosticsStatusNotification",
        "PublishFirmwareStatusNotification",
        "NotifyCustomerInformation",
        "NotifyDisplayMessages",
    }
)


# The answers a charger got for its last messages, read once per connection (see `_stored_answer`).
_MESSAGES = OcppMessage.__table__
# Only the charger in SQL: with a time condition PostgreSQL chose the created_at index and read every
# message of the last day (33 ms per connection); the window is applied to the rows read.
_RECENT_STORED_ANSWERS = (
    select(
        _MESSAGES.c.unique_id,  # type: ignore[attr-defined]
        _MESSAGES.c.payload_hash,  # type: ignore[attr-defined]
        _MESSAGES.c.response,  # type: ignore[attr-defined]
        _MESSAGES.c.direction,  # type: ignore[attr-defined]
        _MESSAGES.c.created_at,  # type: ignore[attr-defined]
    )
    .where(_MESSAGES.c.charge_point_id == bindparam("cp"))  # type: ignore[attr-defined]
    .order_by(_MESSAGES.c.id.desc())  # type: ignore[attr-defined]
    .limit(RECENT_ANSWERS)
)


@functools.lru_cache(maxsize=4096)
def _snake_key(key: str) -> str:
    return next(iter(_library_camel_to_snake({key: None})))


def camel_to_snake_case(data: Any) -> Any:
    """The `ocpp` library's key conversion, with each key converted once per process, not per message
    (two regular expressions per key were 8 % of the CSMS's CPU at saturation)."""
    if isinstance(data, dict):
        return {_snake_key(key): camel_to_snake_case(value) for key, value in data.items()}
    if isinstance(data, list):
        return [camel_to_snake_case(value) for value in data]
    return data


def _dumps(payload: Any) -> str:
    """Canonical JSON (sorted keys, compact) of a payload: what the message log stores and the retry
    check hashes. orjson: the standard library's sorted dump was a tenth of the CSMS's CPU per message."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str).decode()


def redact(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as it may be logged: Basic-auth passwords replaced by `***`."""
    if action == "ChangeConfiguration" and payload.get("key") == "AuthorizationKey":
        return {**payload, "value": "***"}
    if action == "SetVariables":
        items = []
        for item in payload.get("setVariableData", []):
            if item.get("variable", {}).get("name") == "BasicAuthPassword":
                item = {**item, "attributeValue": "***"}
            items.append(item)
        return {**payload, "setVariableData": items}
    return payload


def _to_payload(result: Any) -> dict[str, Any]:
    """A handler's return value (library dataclass or camelCase dict) as a camelCase JSON object."""
    if is_dataclass(result) and not isinstance(result, type):
        return snake_to_camel_case(remove_nones(serialize_as_dict(result)))
    if isinstance(result, dict):
        return result
    raise TypeError(f"handler returned {type(result).__name__}")


_ROUTES: dict[type, dict[str, dict[str, Any]]] = {}


def _class_routes(cls: type) -> dict[str, dict[str, Any]]:
    """The `ocpp` library's route map for a class: action -> its (unbound) @on / @after functions."""
    routes = _ROUTES.get(cls)
    if routes is None:
        routes = _ROUTES[cls] = create_route_map(cls)
    return routes


class CsmsConnection:
    """Mixin placed before `ocpp.v16.ChargePoint` / `ocpp.v201.ChargePoint` in the MRO."""

    ocpp_version: str = ""
    known_actions: frozenset[str] = frozenset()
    # Actions whose handler needs network I/O first (`prepare_call`): done before the transaction.
    prepared_actions: frozenset[str] = frozenset()

    def __init__(self, charge_point_id: str, connection: Any, charger_id: int, server: Node) -> None:
        # Not the library's __init__: it walks every attribute to build a map of bound methods for each
        # connection (6 % of the CPU of a reconnect storm, and a reference cycle per socket). The map
        # is built once per class and its functions are bound when a message is dispatched. Everything
        # else the library's __init__ sets up serves its own send/receive loop, which is replaced here.
        self.id = charge_point_id
        self._connection = connection
        self.route_map = _class_routes(type(self))
        self.charge_point_id = charge_point_id
        self.charger_id = charger_id
        self.server = server
        self._pending: dict[str, asyncio.Future[framing.ResultFrame | framing.ErrorFrame]] = {}
        # Calls whose answer `note_answer` must see before the charger's next message is handled.
        self._noted: dict[str, tuple[str, dict[str, Any]]] = {}
        self._out_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._recent: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._db_retry_checks = DB_RETRY_CHECKS
        self._stored: dict[tuple[str, str], str | None] | None = None  # writer thread only
        self.connected_at = time.time()
        self.last_message_at = time.time()
        self.last_pong_at = time.time()
        self.closed = False
        # How the socket was admitted (set by the server): with verified credentials, and against which hash.
        self.authenticated = False
        self.admitted_hash: str | None = None
        # Boot registration (`registration`); 1.6 connections stay Accepted, the server sets 2.0.1's.
        self.registration = Registration(ACCEPTED)
        self.limits_asked: set[str] = set()  # actions whose message limits were asked for (commands)
        # Set by the server on a second socket that waits for its first frame to take over the station's
        # connection (docs/charger-identity.md); answers whether this socket is the connection now.
        self.on_first_frame: Callable[[], Awaitable[bool]] | None = None

    # ------------------------------------------------------------------ receive side
    async def start(self) -> None:
        """Receive loop; returns when the socket closes."""
        try:
            async for raw in self._connection:
                self.last_message_at = time.time()
                if self.on_first_frame is not None:
                    take_over, self.on_first_frame = self.on_first_frame, None
                    if not await take_over():
                        break  # refused (its admission no longer holds): the server closes it
                await self.route_message(raw)
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ChargerOffline(f"{self.charge_point_id} disconnected"))
            self._pending.clear()

    async def route_message(self, raw_msg: str | bytes) -> None:
        frame = framing.parse_frame(raw_msg, MAX_MESSAGE_BYTES)
        if isinstance(frame, framing.CallFrame):
            await self._dispatch_call(frame)
        elif isinstance(frame, framing.ResultFrame | framing.ErrorFrame):
            future = self._pending.pop(frame.unique_id, None)
            if future is None or future.done():
                LOGGER.warning(
                    "%s: dropped answer to unknown call id %r", self.charge_point_id, frame.unique_id
                )
            else:
                future.set_result(frame)
            noted = self._noted.pop(frame.unique_id, None)
            if noted is not None and isinstance(frame, framing.ResultFrame):
                self.note_answer(noted[0], noted[1], frame.payload)
        elif isinstance(frame, framing.RejectFrame):
            LOGGER.info("%s: rejected frame (%s: %s)", self.charge_point_id, frame.code, frame.description)
            raw = raw_msg if isinstance(raw_msg, str) else raw_msg.decode("utf-8", "replace")
            await self._send_error(frame.unique_id, frame.code, frame.description, payload=raw)
        else:
            LOGGER.warning("%s: dropped frame: %s", self.charge_point_id, frame.reason)

    async def _send_error(
        self, unique_id: str, code: str, description: str, action: str = "", payload: str = ""
    ) -> None:
        code = framing.error_code(self.ocpp_version, code)
        await self._send(framing.call_error(unique_id, code, description))
        known = action in self.known_actions or action in self.route_map
        metrics.CSMS_ERRORS.labels(action if known else "other", code).inc()
        # Refused messages belong in the operator's message log too: they are what needs debugging.
        row = {
            "charge_point_id": self.charge_point_id,
            "direction": "in",
            "unique_id": unique_id[:64],
            "action": action[:64],
            "payload": payload[:LOGGED_PAYLOAD_CHARS],
            "payload_hash": "",
            "response": _dumps({"error": code, "description": description}),
            "error_code": code,
            "created_at": utcnow(),
        }
        table = OcppMessage.__table__
        self.spawn(self.server.writer.run(lambda db: defer_insert(db, table, row), key=self.charger_id))  # type: ignore[arg-type]

    async def _dispatch_call(self, frame: framing.CallFrame) -> None:
        started = time.perf_counter()
        handlers = self.route_map.get(frame.action, {})
        handler = handlers.get("_on_action")
        if handler is not None:
            handler = handler.__get__(self)
        if handler is None:
            # OCPP-J: an action the receiver does not know is NotImplemented; a known one it does not
            # support is NotSupported (the `ocpp` library has these the other way round).
            if frame.action in self.known_actions:
                await self._send_error(
                    frame.unique_id, "NotSupported", f"{frame.action} is not supported", frame.action
                )
            else:
                await self._send_error(
                    frame.unique_id, "NotImplemented", f"unknown action {frame.action}", frame.action
                )
            return
        if not self.registration.accepted and not self.registration.admits(frame.action):
            await self._send_error(
                frame.unique_id,
                "SecurityError",
                f"{frame.action} before an accepted boot (registration {self.registration.status})",
                frame.action,
            )
            return
        payload_json = _dumps(frame.payload)
        payload_hash = hashlib.sha256(f"{frame.action}\n{payload_json}".encode()).hexdigest()
        retry_key = (frame.unique_id, payload_hash)
        idempotent = frame.action in IDEMPOTENT_ACTIONS
        if idempotent and retry_key in self._recent:
            LOGGER.info(
                "%s: replayed answer to retried %s %s", self.charge_point_id, frame.action, frame.unique_id
            )
            await self._send(framing.call_result(frame.unique_id, self._recent[retry_key]))
            return
        # A retry on the same socket is caught by `_recent`; one sent after a reconnect comes first in
        # the new connection, so only the first messages of a connection also look in the database.
        check_db = idempotent and self._db_retry_checks > 0
        if check_db:
            self._db_retry_checks -= 1
        try:
            validate(self.ocpp_version, frame.action, frame.payload)
            extra = (
                await self.prepare_call(frame.action, frame.payload)
                if frame.action in self.prepared_actions
                else None
            )
            answer = await self.server.writer.run(
                lambda db: self._apply_call(db, frame, handler, payload_json, payload_hash, check_db, extra),
                key=self.charger_id,
            )
        except CallRejected as exc:
            await self._send_error(frame.unique_id, exc.code, exc.description, frame.action, payload_json)
            return
        except Exception:
            LOGGER.exception("%s: handler for %s failed", self.charge_point_id, frame.action)
            await self._send_error(
                frame.unique_id,
                "InternalError",
                f"{frame.action} could not be processed",
                frame.action,
                payload_json,
            )
            return
        if idempotent:
            self._recent[retry_key] = answer
            while len(self._recent) > RECENT_ANSWERS:
                self._recent.popitem(last=False)
        await self._send(framing.call_result(frame.unique_id, answer))
        metrics.csms_call(frame.action, time.perf_counter() - started)  # a routed action: bounded labels
        after = handlers.get("_after_action")
        if after is not None:
            self.spawn(after(self, **camel_to_snake_case(frame.payload)))

    def _apply_call(
        self,
        db: Session,
        frame: framing.CallFrame,
        handler: Callable[..., Any],
        payload_json: str,
        payload_hash: str,
        check_db: bool,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Runs on the writer thread inside a transaction: the effect and its log row, or neither.
        `extra`: what `prepare_call` found out, passed to the handler as keyword arguments."""
        if check_db:
            replay = self._stored_answer(db, frame.unique_id, payload_hash)
            if replay is not None:
                LOGGER.info(
                    "%s: replayed answer to retried %s %s",
                    self.charge_point_id,
                    frame.action,
                    frame.unique_id,
                )
                return replay
        kwargs = camel_to_snake_case(frame.payload)
        if extra:
            kwargs.update(extra)
        result = handler(db, **kwargs)
        answer = _to_payload(result)
        validate(self.ocpp_version, frame.action, answer, response=True)
        defer_insert(
            db,
            OcppMessage.__table__,  # type: ignore[arg-type]
            {
                "charge_point_id": self.charge_point_id,
                "direction": "in",
                "unique_id": frame.unique_id,
                "action": frame.action,
                "payload": payload_json,
                "payload_hash": payload_hash,
                "response": _dumps(answer),
                "error_code": None,
                "created_at": utcnow(),
            },
        )
        return answer

    def _stored_answer(self, db: Session, unique_id: str, payload_hash: str) -> dict[str, Any] | None:
        """The answer already given to this message, if it is a retry from before this connection.

        Such a retry is the message in flight when the last connection dropped, so it is among the
        charger's last few: they are read once, at the first check of the connection, instead of
        one query per message. Runs on the writer thread, which handles all of this charger's
        messages in order, so the old connection's last message is committed before the read.
        """
        if self._stored is None:
            since = utcnow() - timedelta(seconds=RETRY_WINDOW_S)
            rows = db.connection().execute(_RECENT_STORED_ANSWERS, {"cp": self.charge_point_id}).all()
            stored: dict[tuple[str, str], str | None] = {}
            for uid, digest, response, direction, created_at in rows:  # newest first: newest answer wins
                if direction == "in" and created_at >= since:
                    stored.setdefault((uid, digest), response)
            self._stored = stored
        response = self._stored.get((unique_id, payload_hash))
        return None if response is None else json.loads(response)

    async def prepare_call(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Network I/O a handler of `prepared_actions` needs (OCSP, a contract-certificate source), done
        on the event loop before the message's transaction; the result reaches the handler as kwargs."""
        return None

    #: actions whose answers `note_answer` sees
    noted_actions: frozenset[str] = frozenset()

    def note_answer(self, action: str, payload: dict[str, Any], answer: Any) -> None:
        """Called in the read loop as an answer to a `noted_actions` call arrives, before the charger's
        next message is handled: state that message may depend on (ISO 15118: the profile just
        accepted) is in place without waiting for the database write of `after_command`."""

    def store_command_effect(
        self, db: Session, action: str, payload: dict[str, Any], answer: dict[str, Any]
    ) -> None:
        """What a command that reads the same in OCPP 1.6 and 2.0.1 changed on the charger: profiles
        cleared, a local list accepted, a reservation made or cancelled. The versions' `after_command`
        handle their own commands and hand every other one here."""
        if action == "ClearChargingProfile" and answer.get("status") == "Accepted":
            mark_profiles_cleared(db, self.charger_id, payload)
        elif action == "SendLocalList" and answer.get("status") == "Accepted":
            local_list.store_accepted(db, self.charger_id, self.ocpp_version, payload)
        elif action == "ReserveNow" and "status" in answer:
            reservations.record(db, self.charger_id, self.ocpp_version, payload, answer["status"])
        elif action == "CancelReservation" and answer.get("status") == "Accepted":
            reservations.transition(db, self.charger_id, int(payload["reservationId"]), "cancelled")

    # ------------------------------------------------------------------ send side
    async def send_call(
        self, action: str, payload: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        """Send one Call and return the charger's CallResult payload (camelCase).

        Raises InvalidCommandPayload before sending, ChargerOffline, CommandTimeout or CommandCallError.
        """
        try:
            validate(self.ocpp_version, action, payload)
        except CallRejected as exc:
            raise InvalidCommandPayload(f"{action}: {exc.description}") from exc
        if self.closed:
            raise ChargerOffline(f"{self.charge_point_id} is not connected")
        timeout = self.server.command_timeout_s if timeout is None else timeout
        unique_id = str(uuid.uuid4())
        try:
            async with asyncio.timeout(timeout):
                async with self._out_lock:
                    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                    self._pending[unique_id] = future
                    if action in self.noted_actions:
                        self._noted[unique_id] = (action, payload)
                    try:
                        await self._send(framing.call(unique_id, action, payload))
                    except ConnectionClosed as exc:
                        raise ChargerOffline(f"{self.charge_point_id} disconnected") from exc
                    answer = await future
        except TimeoutError as exc:
            self._pending.pop(unique_id, None)
            await self._log_outgoing(unique_id, action, payload, None, "Timeout")
            raise CommandTimeout(
                f"{self.charge_point_id} did not answer {action} within {timeout:g} s"
            ) from exc
        finally:
            self._pending.pop(unique_id, None)
            self._noted.pop(unique_id, None)
        if isinstance(answer, framing.ErrorFrame):
            await self._log_outgoing(unique_id, action, payload, answer.details, answer.code)
            raise CommandCallError(answer.code, answer.description, answer.details)
        if not isinstance(answer.payload, dict):
            raise CommandCallError("FormatViolation", "charger answered with a non-object payload")
        try:
            validate(self.ocpp_version, action, answer.payload, response=True)
        except CallRejected as exc:
            LOGGER.warning("%s: answer to %s fails the schema: %s", self.charge_point_id, action, exc)
        # Logged before the answer is returned: whoever shows the answer then finds it in the log.
        await self._log_outgoing(unique_id, action, payload, answer.payload, None)
        return answer.payload

    async def _log_outgoing(
        self, unique_id: str, action: str, payload: dict[str, Any], answer: Any, error: str | None
    ) -> None:
        def write() -> None:
            with session_scope() as db:
                db.add(
                    OcppMessage(
                        charge_point_id=self.charge_point_id,
                        direction="out",
                        unique_id=unique_id,
                        action=action,
                        payload=_dumps(redact(action, payload)),
                        response=None if answer is None else _dumps(answer),
                        error_code=error,
                    )
                )

        try:
            await asyncio.to_thread(write)
        except Exception:
            LOGGER.exception("%s: could not log outgoing %s", self.charge_point_id, action)

    async def _send(self, message: str) -> None:
        await self._connection.send(message)

    # ------------------------------------------------------------------ helpers
    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """A background task that is kept referenced and cancelled when the connection ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            LOGGER.error("%s: background task failed", self.charge_point_id, exc_info=task.exception())

    async def cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def record_reported_security_event(
        self, db: Session, event_type: str, timestamp: str, tech_info: str | None
    ) -> None:
        """SecurityEventNotification has the same fields in 1.6 and 2.0.1; both handlers store it here."""
        chargers.record_security_event(
            db,
            self.charge_point_id,
            event_type,
            parse_utc(timestamp),
            charger_id=self.charger_id,
            tech_info=tech_info,
        )

    def reject_certificate_signing(
        self, db: Session, reason: str = "no CSMS certificate authority configured"
    ) -> dict[str, Any]:
        """Refuse explicitly (not NotSupported), and keep a trace for the operator."""
        chargers.record_security_event(
            db,
            self.charge_point_id,
            "SignCertificateRejected",
            utcnow(),
            charger_id=self.charger_id,
            tech_info=reason[:255],
            source="csms",
        )
        return {"status": "Rejected"}

    def answer_sign_certificate(self, db: Session, csr: str, certificate_type: str) -> dict[str, Any]:
        """SignCertificate (both versions): Accepted when the CSMS CA will sign this CSR (`csms_ca`);
        the certificate follows in a CertificateSigned (`send_signed_certificate`, after the answer)."""
        ca = self.server.v2g_ca if certificate_type in (V2G, COMBINED) else self.server.ca
        if ca is None:
            return self.reject_certificate_signing(
                db, f"no CSMS certificate authority for {certificate_type}"
            )
        try:
            ca.check(csr, self.charge_point_id, certificate_type)
        except CsrRejected as exc:
            return self.reject_certificate_signing(db, f"CSR refused: {exc}")
        return {"status": "Accepted"}

    async def send_signed_certificate(self, csr: str, certificate_type: str) -> None:
        ca = self.server.v2g_ca if certificate_type in (V2G, COMBINED) else self.server.ca
        if ca is None:
            return
        try:
            request = ca.check(csr, self.charge_point_id, certificate_type)
        except CsrRejected:
            return  # answered Rejected
        chain = await asyncio.to_thread(ca.sign, request, certificate_type)
        payload: dict[str, Any] = {"certificateChain": chain}
        if self.ocpp_version != "1.6" and certificate_type != COMBINED:  # a combined one has no type
            payload["certificateType"] = certificate_type
        try:
            answer = await self.send_call("CertificateSigned", payload)
        except Exception as exc:
            LOGGER.warning("%s: CertificateSigned not delivered: %s", self.charge_point_id, exc)
            return
        if answer.get("status") != "Accepted":
            await asyncio.to_thread(self._record_csms_event, "CertificateSignedRejected", str(answer)[:255])

    def _record_csms_event(self, event_type: str, tech_info: str) -> None:
        with session_scope() as db:
            chargers.record_security_event(
                db,
                self.charge_point_id,
                event_type,
                utcnow(),
                charger_id=self.charger_id,
                tech_info=tech_info,
                source="csms",
            )
