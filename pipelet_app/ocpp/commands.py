"""The command bus: how the web app and the API reach a charger.

    from pipelet_app.ocpp.commands import send_command
    answer = await send_command("CP-1", "reset", {"type": "Soft"}, timeout=30)

`send_command` returns the charger's own CallResult payload (camelCase dict) or raises a subclass of
`CommandError` (`pipelet_app.ocpp.errors`), each carrying its HTTP status:
`ChargerOffline` 409, `CommandTimeout` 504, `UnknownCommand` 404, `InvalidCommandPayload` 422,
`CommandCallError` 502 (the charger answered with a CallError), `CsmsUnavailable` 503 (no CSMS answers
this process at all: said apart from "charger offline" because the operator must fix the platform).

Transport, picked from configuration and invisible to callers:
1. the CSMS runs in this process and holds the socket → direct call;
2. `REDIS_URL` set → Redis, routed to whichever CSMS node holds the socket (`redis_bus`);
3. otherwise → loopback WebSocket to the local CSMS (`ws://127.0.0.1:CSMS_PORT/internal/commands`,
   authenticated by a token derived from PIPELET_SECRET_KEY and refused from any non-loopback peer).
   With `CSMS_TLS_CERT` set that port speaks only TLS, so the dial is `wss://` trusting exactly that
   certificate file (see `loopback_tls_context`).

Names are the API's (`remote-start`, `reset`, ...; see `COMMANDS`) or raw OCPP action names
(`ClearCache`). The payload is the OCPP payload of the charger's version, with a few conveniences so
the API can stay version-agnostic: `remote-start` accepts `{"idTag", "connectorId"}` for both versions,
`remote-stop` accepts a session's `transaction_id` (e.g. `ocpp16:CP-1:17`), `send-local-list` with
`{"fromDatabase": true}` sends the charger's tenant's tokens as a full list with the next version (with
`"updateType": "Differential"` only what changed since the list the charger last accepted, see
`local_list`), `reserve-now` without a reservation id gets the charger's next free one (see
`reservations`), and `set-charging-limit` takes `{"connectorId", "limit", "unit"}` (see `smart_charging`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import ssl
import uuid
from typing import Any

from pipelet_app import metrics
from pipelet_app.ocpp import customer_information, display_messages, message_limits, security_profile
from pipelet_app.ocpp.errors import (
    ChargerOffline,
    CommandCallError,
    CommandError,
    CommandTimeout,
    CsmsUnavailable,
    EffectNotSaved,
    InvalidCommandPayload,
    UnknownCommand,
)
from pipelet_app.ocpp.node import INTERNAL_PATH, METRICS_PATH, Node, internal_token
from pipelet_app.ocpp.redis_bus import RedisNodeBus, broadcast_identity_changed, request_via_redis
from pipelet_app.ocpp.smart_charging import set_limit_request
from pipelet_app.ocpp.validation import schema_exists
from pipelet_app.settings import get_settings

LOGGER = logging.getLogger("pipelet.csms.commands")

COMMANDS: dict[str, dict[str, str]] = {
    "remote-start": {"1.6": "RemoteStartTransaction", "2.0.1": "RequestStartTransaction"},
    "remote-stop": {"1.6": "RemoteStopTransaction", "2.0.1": "RequestStopTransaction"},
    "reset": {"1.6": "Reset", "2.0.1": "Reset"},
    "unlock": {"1.6": "UnlockConnector", "2.0.1": "UnlockConnector"},
    "set-charging-profile": {"1.6": "SetChargingProfile", "2.0.1": "SetChargingProfile"},
    "set-charging-limit": {"1.6": "SetChargingProfile", "2.0.1": "SetChargingProfile"},
    "clear-charging-profile": {"1.6": "ClearChargingProfile", "2.0.1": "ClearChargingProfile"},
    "get-composite-schedule": {"1.6": "GetCompositeSchedule", "2.0.1": "GetCompositeSchedule"},
    "get-configuration": {"1.6": "GetConfiguration", "2.0.1": "GetVariables"},
    "change-configuration": {"1.6": "ChangeConfiguration", "2.0.1": "SetVariables"},
    "trigger-message": {"1.6": "TriggerMessage", "2.0.1": "TriggerMessage"},
    "change-availability": {"1.6": "ChangeAvailability", "2.0.1": "ChangeAvailability"},
    "clear-cache": {"1.6": "ClearCache", "2.0.1": "ClearCache"},
    "data-transfer": {"1.6": "DataTransfer", "2.0.1": "DataTransfer"},
    "get-local-list-version": {"1.6": "GetLocalListVersion", "2.0.1": "GetLocalListVersion"},
    "send-local-list": {"1.6": "SendLocalList", "2.0.1": "SendLocalList"},
    "reserve-now": {"1.6": "ReserveNow", "2.0.1": "ReserveNow"},
    "cancel-reservation": {"1.6": "CancelReservation", "2.0.1": "CancelReservation"},
    "update-firmware": {"1.6": "UpdateFirmware", "2.0.1": "UpdateFirmware"},
    "get-diagnostics": {"1.6": "GetDiagnostics", "2.0.1": "GetLog"},
    "get-base-report": {"2.0.1": "GetBaseReport"},
    "customer-information": {"2.0.1": "CustomerInformation"},
    "set-display-message": {"2.0.1": "SetDisplayMessage"},
    "get-display-messages": {"2.0.1": "GetDisplayMessages"},
    "clear-display-message": {"2.0.1": "ClearDisplayMessage"},
    "publish-firmware": {"2.0.1": "PublishFirmware"},
    "unpublish-firmware": {"2.0.1": "UnpublishFirmware"},
}

_ERRORS: dict[str, type[CommandError]] = {
    "offline": ChargerOffline,
    "timeout": CommandTimeout,
    "unknown": UnknownCommand,
    "invalid": InvalidCommandPayload,
    "unavailable": CsmsUnavailable,
    "not_saved": EffectNotSaved,
}

_local_server: Node | None = None


def resolve_action(name: str, version: str) -> str:
    """The OCPP action behind an API command name (or a raw action name) for `version`."""
    if name in COMMANDS:
        action = COMMANDS[name].get(version)
        if action is None:
            raise UnknownCommand(f"{name} does not exist in OCPP {version}")
        return action
    if name[:1].isupper() and schema_exists(version, name):
        return name
    raise UnknownCommand(f"unknown command {name!r}")


def adapt_payload(action: str, version: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Version-agnostic conveniences (see module docstring); anything else passes through unchanged."""
    payload = dict(payload)
    if action == "RequestStartTransaction":
        if "idTag" in payload and "idToken" not in payload:
            payload["idToken"] = {"idToken": str(payload.pop("idTag")), "type": "Central"}
        if "connectorId" in payload and "evseId" not in payload:
            payload["evseId"] = payload.pop("connectorId")
        payload.setdefault("remoteStartId", random.randint(1, 2**31 - 1))
    elif action == "CustomerInformation":
        payload = customer_information.prepare_request(payload)
    elif action == "GetDisplayMessages":
        payload = display_messages.with_request_id(payload)
    elif action in ("RemoteStopTransaction", "RequestStopTransaction") and "transactionId" in payload:
        tx = str(payload["transactionId"])
        if tx.startswith(("ocpp16:", "ocpp201:")):
            tx = tx.split(":", 2)[2]
        if action == "RemoteStopTransaction":
            try:
                payload["transactionId"] = int(tx)
            except ValueError as exc:
                raise InvalidCommandPayload(f"transactionId {tx!r} is not an OCPP 1.6 transaction") from exc
        else:
            payload["transactionId"] = tx
    return payload


async def execute_request(server: Node, request: dict[str, Any]) -> dict[str, Any]:
    """Run one command on this node; the answer is a JSON-safe envelope (used by every transport)."""
    reply = await _execute(server, request)
    if request.get("name") not in (IDENTITY_CHANGED, CONNECTION_ALIVE):
        name = str(request.get("name", ""))
        known = name in COMMANDS or schema_exists("2.0.1", name) or schema_exists("1.6", name)
        outcome = "ok" if reply.get("ok") else str(reply.get("error"))
        metrics.CSMS_COMMANDS.labels(name if known else "other", outcome).inc()
    return reply


async def _execute(server: Node, request: dict[str, Any]) -> dict[str, Any]:
    try:
        charge_point_id = str(request["charge_point_id"])
        name = str(request["name"])
        if name == IDENTITY_CHANGED:
            await server.identity_changed(charge_point_id)
            return {"ok": True, "payload": {}}
        if name == CONNECTION_ALIVE:
            return {"ok": True, "payload": {"alive": await server.connection_alive(charge_point_id)}}
        payload = request.get("payload") or {}
        timeout = float(request.get("timeout") or server.command_timeout_s)
        if not isinstance(payload, dict):
            raise InvalidCommandPayload("payload must be a JSON object")
        cp = server.connections.get(charge_point_id)
        if cp is None or cp.closed:
            raise ChargerOffline(f"{charge_point_id} is not connected")
        action = resolve_action(name, cp.ocpp_version)
        if name == "set-charging-limit":
            payload = set_limit_request(cp.ocpp_version, payload)
        if action == "SendLocalList" and payload.get("fromDatabase"):
            update_type = str(payload.get("updateType", "Full"))
            if update_type not in ("Full", "Differential"):
                raise InvalidCommandPayload(f"updateType must be Full or Differential, not {update_type!r}")
            payload = await asyncio.to_thread(_local_list, cp.charger_id, cp.ocpp_version, update_type)
        if action == "ReserveNow":
            payload = await asyncio.to_thread(_with_reservation_id, cp.charger_id, cp.ocpp_version, payload)
        payload = adapt_payload(action, cp.ocpp_version, payload)
        if action == "TriggerMessage":  # set before sending: the triggered message may come first
            cp.registration.expect(str(payload.get("requestedMessage", "")))
        if cp.ocpp_version == "2.0.1" and action in message_limits.LIMITED:
            answer = await _send_within_limits(cp, action, payload, timeout)
        else:
            answer = await _send_and_store(cp, action, payload, timeout)
        if action == "CustomerInformation":
            cp.spawn(_resync_after_clear(cp, payload, answer, timeout))
        return {"ok": True, "payload": answer}
    except CommandCallError as exc:
        return {
            "ok": False,
            "error": "call_error",
            "code": exc.code,
            "description": exc.description,
            "details": exc.details if isinstance(exc.details, dict) else {},
        }
    except CommandError as exc:
        kind = next((k for k, cls in _ERRORS.items() if isinstance(exc, cls)), "offline")
        return {"ok": False, "error": kind, "description": str(exc)}
    except (KeyError, TypeError, ValueError) as exc:
        return {"ok": False, "error": "invalid", "description": f"bad command request: {exc}"}


async def _send_and_store(cp: Any, action: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    answer: dict[str, Any] = await cp.send_call(action, payload, timeout)
    try:
        await cp.after_command(action, payload, answer)
        profile = security_profile.announced_profile(action, payload, answer)
        if profile is not None:  # its floor rises once it connects at that profile (no fallback)
            await asyncio.to_thread(_record_profile_target, cp.charger_id, profile)
            await cp.server.identity_changed(cp.charge_point_id)
    except Exception:  # the charger acted, our record of it did not land: say so, never "done"
        LOGGER.exception("%s: storing the effect of %s failed", cp.charge_point_id, action)
        raise EffectNotSaved(
            f"{cp.charge_point_id} answered {action}, but saving its effect failed (logged); "
            "check the charger's state before repeating the command"
        ) from None
    return answer


async def _send_within_limits(
    cp: Any, action: str, payload: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """A 2.0.1 request with a list, split to the station's ItemsPerMessage / BytesPerMessage for it
    (`message_limits`); limits it never reported are asked for once per connection first (TC_N_18)."""
    if len(payload.get(message_limits.LIMITED[action].list_key) or []) <= 1:
        return await _send_and_store(cp, action, payload, timeout)
    items, max_bytes, known = await asyncio.to_thread(_known_limits, cp.charger_id, action)
    if not known and action not in cp.limits_asked:
        cp.limits_asked.add(action)
        try:
            await _send_and_store(cp, "GetVariables", message_limits.limit_query(action), timeout)
        except CommandCallError as exc:  # a station without them: send as asked
            LOGGER.info("%s: no message limits for %s (%s)", cp.charge_point_id, action, exc)
        items, max_bytes, known = await asyncio.to_thread(_known_limits, cp.charger_id, action)
    parts = message_limits.split(action, payload, items, max_bytes)
    answers = [await _send_and_store(cp, action, part, timeout) for part in parts]
    return message_limits.join(action, answers)


async def _resync_after_clear(
    cp: Any, payload: dict[str, Any], answer: dict[str, Any], timeout: float
) -> None:
    """N10.FR.02 (TC_N_46): a station that cleared a customer's data dropped the token from its local
    list too; when our snapshot had it, a Differential SendLocalList from the database puts the list
    back in step (with the token again, if the tenant still has it) under the next version."""
    token = (payload.get("idToken") or {}).get("idToken")
    if not (token and payload.get("clear") and answer.get("status") == "Accepted"):
        return
    if not await asyncio.to_thread(_forget_local_token, cp.charger_id, str(token)):
        return
    request = await asyncio.to_thread(_local_list, cp.charger_id, cp.ocpp_version, "Differential")
    if request.get("localAuthorizationList"):
        try:
            await _send_and_store(cp, "SendLocalList", request, timeout)
        except CommandError as exc:
            LOGGER.warning("%s: local list not resynchronised after a clear: %s", cp.charge_point_id, exc)


def _forget_local_token(charger_id: int, token: str) -> bool:
    from pipelet_app.db import session_scope
    from pipelet_app.ocpp.local_list import forget_token

    with session_scope() as db:
        return forget_token(db, charger_id, token)


def _record_profile_target(charger_id: int, profile: int) -> None:
    from pipelet_app.db import session_scope

    with session_scope() as db:
        security_profile.record_target(db, charger_id, profile)


def _known_limits(charger_id: int, action: str) -> tuple[int | None, int | None, bool]:
    from pipelet_app.db import session_scope

    with session_scope() as db:
        return message_limits.known_limits(db, charger_id, action)


def _local_list(charger_id: int, ocpp_version: str, update_type: str) -> dict[str, Any]:
    from pipelet_app.db import session_scope
    from pipelet_app.ocpp.authorization import local_list_payload

    with session_scope() as db:
        return local_list_payload(db, charger_id, ocpp_version, update_type)


def _with_reservation_id(charger_id: int, ocpp_version: str, payload: dict[str, Any]) -> dict[str, Any]:
    """ReserveNow without an id gets the charger's next free one, so callers need not track ids."""
    key = "reservationId" if ocpp_version == "1.6" else "id"
    if key in payload:
        return payload
    from pipelet_app.db import session_scope
    from pipelet_app.ocpp.reservations import next_free_id

    with session_scope() as db:
        return {**payload, key: next_free_id(db, charger_id)}


def raise_for_envelope(reply: dict[str, Any]) -> dict[str, Any]:
    """The payload of a successful envelope, or the matching exception."""
    if reply.get("ok"):
        return reply.get("payload") or {}
    if reply.get("error") == "call_error":
        raise CommandCallError(
            str(reply.get("code")), str(reply.get("description", "")), reply.get("details")
        )
    raise _ERRORS.get(str(reply.get("error")), CommandError)(str(reply.get("description", "")))


async def send_command(
    charge_point_id: str, name: str, payload: dict[str, Any] | None = None, timeout: float = 30.0
) -> dict[str, Any]:
    """Send command `name` to a charger and return its answer payload (see the module docstring)."""
    request = {
        "id": str(uuid.uuid4()),
        "charge_point_id": charge_point_id,
        "name": name,
        "payload": payload or {},
        "timeout": timeout,
    }
    server = _local_server
    if server is not None and charge_point_id in server.connections:
        return raise_for_envelope(await execute_request(server, request))
    settings = get_settings()
    if settings.redis_url:
        return raise_for_envelope(await request_via_redis(settings.redis_url, request, timeout))
    if server is not None:
        raise ChargerOffline(f"{charge_point_id} is not connected")
    return raise_for_envelope(await _request_via_loopback(request, timeout))


IDENTITY_CHANGED = "identity-changed"  # not a charger command: tells the CSMS to re-read its admission
CONNECTION_ALIVE = "connection-alive"  # not a charger command: does the node's socket answer a ping?


async def alive_elsewhere(charge_point_id: str, timeout: float) -> bool:
    """Scale-out: whether the socket another node holds for this charger answers a ping (asked when the
    charger opened a second socket here). Unknown (Redis trouble): True, the newcomer waits to speak."""
    settings = get_settings()
    if not settings.redis_url:
        return False
    request = {"id": str(uuid.uuid4()), "charge_point_id": charge_point_id, "name": CONNECTION_ALIVE}
    try:
        reply = await request_via_redis(settings.redis_url, request, timeout)
    except ChargerOffline:
        return False
    except Exception as exc:
        LOGGER.info("%s: could not ask the other node about its socket (%s)", charge_point_id, exc)
        return True
    return not reply.get("ok") or bool((reply.get("payload") or {}).get("alive"))


async def notify_identity_changed(charge_point_id: str) -> None:
    """Tell the CSMS that a charger's password, auth mode, tenant or registration changed, so admission
    applies it at once and a socket admitted on the old grounds is closed. Every path that changes
    them calls this (API, portal, claim, rotation, the OCTT runner). In scale-out it is broadcast to
    every node (`redis_bus.IDENTITY_CHANNEL`), whether or not one holds the charger's socket: a node
    that admitted the charger before keeps its credentials cached. Best effort: without it a node
    applies the change at its directory refresh (30 s)."""
    request = {"id": str(uuid.uuid4()), "charge_point_id": charge_point_id, "name": IDENTITY_CHANGED}
    try:
        if _local_server is not None:  # it broadcasts to the other nodes itself
            await execute_request(_local_server, request)
            return
        settings = get_settings()
        if settings.redis_url:
            await broadcast_identity_changed(settings.redis_url, charge_point_id)
        else:
            await _request_via_loopback(request, 5.0)
    except Exception as exc:  # the refresh applies it anyway
        LOGGER.info(
            "%s: CSMS not told of the identity change (%s); applies within 30 s", charge_point_id, exc
        )


def password_handover(ocpp_version: str, password: str) -> tuple[str, dict[str, Any]]:
    """The command that hands a charger its Basic-auth password over its live socket (TC_073 / B05)."""
    if ocpp_version == "1.6":
        return "change-configuration", {"key": "AuthorizationKey", "value": password}
    variable = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}
    return "change-configuration", {"setVariableData": [{**variable, "attributeValue": password}]}


async def hand_over_password(charge_point_id: str, ocpp_version: str, password: str) -> bool:
    """Best effort, right after a claim: send the charger its new password over the socket it holds
    (admitted without credentials while unclaimed). Accepted: the CSMS stores it, keeps the socket as
    authenticated and, for a 2.0.1 station waiting in Pending, has it boot again (Accepted now).
    Anything else: False, and the socket is closed as before; the charger must be configured by hand."""
    name, payload = password_handover(ocpp_version, password)
    try:
        answer = await send_command(charge_point_id, name, payload, timeout=10.0)
    except CommandError as exc:
        LOGGER.info("%s: password not handed over (%s)", charge_point_id, exc)
        return False
    results = answer.get("setVariableResult") or [answer]
    return all(item.get("attributeStatus", item.get("status")) == "Accepted" for item in results)


def loopback_tls_context(cert_file: str) -> ssl.SSLContext:
    """Client TLS for the loopback dial: trusts the CSMS's own certificate file and nothing else.

    The certificate names the public host, not 127.0.0.1, so the hostname is not checked; pinning the
    exact file the CSMS serves is the stronger check anyway. PARTIAL_CHAIN lets a CA-issued leaf (a
    `fullchain.pem`) be its own trust anchor, so it works for self-signed and public certificates alike.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cert_file)
    context.check_hostname = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


async def local_node_metrics(timeout: float = 3.0) -> str | None:
    """The Prometheus text of the CSMS on this host (its loopback metrics path), or None when none answers.

    The embedded deployment's way to show the CSMS's own metrics in the web app's `/api/v1/metrics`."""
    import httpx

    settings = get_settings()
    tls = loopback_tls_context(settings.csms_tls_cert) if settings.csms_tls_cert else None
    url = f"{'https' if tls else 'http'}://127.0.0.1:{settings.csms_port}{METRICS_PATH}"
    try:
        async with httpx.AsyncClient(verify=tls or True, timeout=timeout) as client:
            answer = await client.get(url, headers={"X-Pipelet-Token": internal_token()})
    except httpx.HTTPError as exc:
        LOGGER.info("no CSMS metrics at %s: %s", url, exc)
        return None
    return answer.text if answer.status_code == 200 else None


async def _request_via_loopback(request: dict[str, Any], timeout: float) -> dict[str, Any]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake, WebSocketException

    settings = get_settings()
    tls = loopback_tls_context(settings.csms_tls_cert) if settings.csms_tls_cert else None
    url = f"{'wss' if tls else 'ws'}://127.0.0.1:{settings.csms_port}{INTERNAL_PATH}"
    try:
        async with asyncio.timeout(timeout + 5):
            async with connect(
                url, additional_headers={"X-Pipelet-Token": internal_token()}, open_timeout=5, ssl=tls
            ) as ws:
                await ws.send(json.dumps(request))
                return json.loads(await ws.recv())
    except TimeoutError as exc:
        raise CommandTimeout(f"no answer from the CSMS within {timeout + 5:g} s") from exc
    except (OSError, InvalidHandshake, WebSocketException) as exc:  # ssl.SSLError is an OSError
        raise CsmsUnavailable(
            f"the CSMS does not answer commands on {url} ({type(exc).__name__}: {exc}); "
            "is it running, with the same CSMS_PORT, CSMS_TLS_CERT and PIPELET_SECRET_KEY?"
        ) from exc


async def attach_server(server: Node) -> None:
    """Called by `CsmsServer.start`: commands for its chargers go direct; scale-out joins Redis."""
    global _local_server
    _local_server = server
    redis_url = get_settings().redis_url
    if redis_url:
        server.bus = RedisNodeBus(server, redis_url, execute_request)
        await server.bus.start()


async def detach_server(server: Node) -> None:
    global _local_server
    if server.bus is not None:
        await server.bus.stop()
        server.bus = None
    if _local_server is server:
        _local_server = None
