"""A raw-JSON OCPP 1.6 charger (tests/integration/ocpp/rawcp.py) on an event loop thread of its own, for
browser tests: Playwright's sync API owns the test thread's loop. It answers the CSMS's configuration
calls as a real charger would and keeps the password a claim hands it over the socket."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from typing import Any

from tests.integration.ocpp.rawcp import RawChargePoint


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ThreadedCharger:
    def __init__(self, csms_port: int, charge_point_id: str, password: str | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.cp = RawChargePoint(f"ws://127.0.0.1:{csms_port}", charge_point_id, password=password)
        self.configuration: dict[str, str] = {}
        self.cp.responders.update(
            {
                "ChangeConfiguration": self._change_configuration,
                "SendLocalList": lambda _: {"status": "Accepted"},
                "GetLocalListVersion": lambda _: {"listVersion": 0},
                "TriggerMessage": lambda _: {"status": "Accepted"},
                "GetConfiguration": lambda _: {"configurationKey": [], "unknownKey": []},
            }
        )
        self.meter = 0
        self.transaction: int | None = None

    def _change_configuration(self, payload: dict[str, Any]) -> dict[str, str]:
        self.configuration[payload["key"]] = payload["value"]
        return {"status": "Accepted"}

    def run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=timeout)

    def connect_and_boot(self) -> dict[str, Any]:
        self.run(self.cp.connect())
        return self.run(self.cp.boot16(vendor="RawVendor", model="E2E"))

    def status(self, status: str, error: str = "NoError", connector: int = 1) -> None:
        payload = {"connectorId": connector, "status": status, "errorCode": error, "timestamp": now()}
        self.run(self.cp.ok("StatusNotification", payload))

    def authorize(self, id_tag: str, within_s: float = 45) -> str:
        """Authorize until Accepted or `within_s` passed (the CSMS may take a moment to trust a charger
        claimed a moment ago); returns the last status."""
        deadline = time.monotonic() + within_s
        while True:
            status = self.run(self.cp.ok("Authorize", {"idTag": id_tag}))["idTagInfo"]["status"]
            if status == "Accepted" or time.monotonic() > deadline:
                return status
            time.sleep(1)

    def start(self, id_tag: str, meter_start: int = 1_000) -> dict[str, Any]:
        self.meter = meter_start
        answer = self.run(
            self.cp.ok(
                "StartTransaction",
                {"connectorId": 1, "idTag": id_tag, "meterStart": self.meter, "timestamp": now()},
            )
        )
        self.transaction = answer["transactionId"]
        return answer

    def meter_values(self, add_wh: int) -> None:
        self.meter += add_wh
        sample = {"value": str(self.meter), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
        self.run(
            self.cp.ok(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": self.transaction,
                    "meterValue": [{"timestamp": now(), "sampledValue": [sample]}],
                },
            )
        )

    def stop(self, id_tag: str) -> dict[str, Any]:
        return self.run(
            self.cp.ok(
                "StopTransaction",
                {
                    "transactionId": self.transaction,
                    "idTag": id_tag,
                    "meterStop": self.meter,
                    "timestamp": now(),
                },
            )
        )

    def close(self) -> None:
        try:
            self.run(self.cp.close(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
