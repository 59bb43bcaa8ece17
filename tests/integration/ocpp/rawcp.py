"""A test charge point that speaks raw OCPP-J frames over a real socket.

Deliberately not built on the `ocpp` package: the CSMS uses that library, and a client built on it
would share its bugs (the NotImplemented/NotSupported swap, the silent drop of bad frames) instead of
catching them. Only `websockets` and `json` are used.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

Responder = Callable[[dict[str, Any]], dict[str, Any] | list[Any] | None]
# How long a test waits for the CSMS's answer to a call. Generous: a passing test never waits it out,
# and on parallel test workers sharing two cores an Authorize that checks OCSP took over 5 s (CI,
# session 12). Tests that expect no answer use `no_response` / explicit timeouts.
ANSWER_WITHIN_S = 20.0
CALIFORNIA_KEY = "CustomDisplayCostAndPrice"


def no_california_pricing(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The default answer to the CSMS's question after a 1.6 boot (GetConfiguration of the OCA California
    Pricing key): unknownKey, as a charger without it answers. Any other GetConfiguration is queued."""
    if payload == {"key": [CALIFORNIA_KEY]}:
        return {"configurationKey": [], "unknownKey": [CALIFORNIA_KEY]}
    return None


def _probe_first(responder: Responder | None) -> Responder:
    def answer(payload: dict[str, Any]) -> dict[str, Any] | list[Any] | None:
        probe = no_california_pricing(payload)
        if probe is not None:
            return probe
        return None if responder is None else responder(payload)

    return answer


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class RawChargePoint:
    """`async with RawChargePoint(url, "CP-1") as cp: await cp.call("Heartbeat", {})`."""

    _ids = itertools.count(1)

    def __init__(
        self,
        base_url: str,
        charge_point_id: str,
        subprotocols: tuple[str, ...] = ("ocpp1.6",),
        password: str | None = None,
        username: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = f"{base_url}/ocpp/{charge_point_id}"
        self.charge_point_id = charge_point_id
        self.subprotocols = subprotocols
        self.password = password
        self.username = username or charge_point_id
        self.ssl_context = ssl_context
        self.ws: ClientConnection | None = None
        self.responses: asyncio.Queue[list[Any]] = asyncio.Queue()
        self.server_calls: asyncio.Queue[list[Any]] = asyncio.Queue()
        # action -> answer; an answer of None queues the call in `server_calls` as if there were none
        self.responders: dict[str, Responder] = {"GetConfiguration": no_california_pricing}
        # the CSMS's own question after a 1.6 boot is answered even when a test replaces the
        # GetConfiguration responder: it may cross the test's command on the wire (False: by hand)
        self.answers_california_probe = True
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RawChargePoint:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        headers = {}
        if self.password is not None:
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        self.ws = await connect(
            self.url,
            subprotocols=list(self.subprotocols),  # type: ignore[arg-type]
            additional_headers=headers,
            open_timeout=ANSWER_WITHIN_S,  # a TLS handshake on a loaded box (parallel workers) took over 5 s
            ping_interval=None,
            max_size=None,
            ssl=self.ssl_context,
        )
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    @property
    def subprotocol(self) -> str | None:
        return self.ws.subprotocol if self.ws else None

    async def _read(self) -> None:
        assert self.ws is not None
        async for raw in self.ws:
            frame = json.loads(raw)
            if frame[0] == 2:
                responder = self.responders.get(frame[2])
                if self.answers_california_probe and frame[2] == "GetConfiguration":
                    responder = _probe_first(responder)
                answer = None if responder is None else responder(frame[3])
                if answer is None:
                    await self.server_calls.put(frame)
                    continue
                if isinstance(answer, list):  # a full CallError frame body: [code, description, details]
                    await self.ws.send(json.dumps([4, frame[1], *answer]))
                else:
                    await self.ws.send(json.dumps([3, frame[1], answer]))
            else:
                await self.responses.put(frame)

    async def send_raw(self, text: str | bytes) -> None:
        assert self.ws is not None
        await self.ws.send(text)

    async def next_response(self, timeout: float = ANSWER_WITHIN_S) -> list[Any]:
        return await asyncio.wait_for(self.responses.get(), timeout)

    async def no_response(self, wait: float = 0.3) -> bool:
        try:
            await asyncio.wait_for(self.responses.get(), wait)
        except TimeoutError:
            return True
        return False

    async def call(
        self,
        action: str,
        payload: dict[str, Any],
        unique_id: str | None = None,
        timeout: float = ANSWER_WITHIN_S,
    ) -> list[Any]:
        """Send a Call; return the whole answer frame ([3, id, payload] or [4, id, code, desc, details])."""
        unique_id = unique_id or f"{self.charge_point_id}-{next(self._ids)}"
        await self.send_raw(json.dumps([2, unique_id, action, payload]))
        while True:
            frame = await self.next_response(timeout)
            if frame[1] == unique_id:
                return frame

    async def ok(self, action: str, payload: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Send a Call that must succeed; return the CallResult payload."""
        frame = await self.call(action, payload, **kwargs)
        assert frame[0] == 3, f"{action} answered {frame}"
        return frame[2]

    async def next_server_call(self, timeout: float = 5.0) -> list[Any]:
        return await asyncio.wait_for(self.server_calls.get(), timeout)

    async def answer(self, frame: list[Any], payload: dict[str, Any]) -> None:
        await self.send_raw(json.dumps([3, frame[1], payload]))

    # ------------------------------------------------------------------ common 1.6 messages
    async def boot16(
        self, vendor: str = "RawVendor", model: str = "RawModel", **extra: Any
    ) -> dict[str, Any]:
        return await self.ok(
            "BootNotification", {"chargePointVendor": vendor, "chargePointModel": model, **extra}
        )

    async def boot201(
        self, vendor: str = "RawVendor", model: str = "RawModel", **extra: Any
    ) -> dict[str, Any]:
        station = {"vendorName": vendor, "model": model, **extra}
        return await self.ok("BootNotification", {"chargingStation": station, "reason": "PowerUp"})
