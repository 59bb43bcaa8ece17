"""The baseline: the `ocpp` library's own ChargePoint loop on websockets, persisting nothing.

Same port layout and subprotocols as the CSMS, BootNotification / Heartbeat / MeterValues handlers
that answer at once. Whatever the CSMS costs on top of this is what persistence, logging, retry
detection and the registry cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from datetime import UTC, datetime

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.server import serve

logging.getLogger("ocpp").setLevel(logging.WARNING)


class BareChargePoint(ChargePoint):
    @on(Action.boot_notification)
    def on_boot(self, **_):
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return call_result.BootNotification(current_time=now, interval=300, status="Accepted")

    @on(Action.heartbeat)
    def on_heartbeat(self, **_):
        return call_result.Heartbeat(current_time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    @on(Action.meter_values)
    def on_meter_values(self, **_):
        return call_result.MeterValues()


async def handler(connection) -> None:
    cp = BareChargePoint(connection.request.path.rsplit("/", 1)[-1], connection)
    with contextlib.suppress(Exception):  # a closed socket ends the loop with an exception
        await cp.start()


async def main(port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        handler, "127.0.0.1", port, subprotocols=["ocpp1.6"], ping_interval=None, compression=None
    ):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
