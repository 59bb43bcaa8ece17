"""Fake Fronius Solar.web Query API: key-pair headers, paged pvsystems, devices with a Wattpilot, channels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._server import FakeCloud, FakeRequest, FakeResponse, SimWallbox

KEY_ID = "FKIA0123456789"
KEY_VALUE = "fronius-secret-value-abcdef"
SYSTEM_ID = "2f1b9e4c-0000-4000-8000-000000000001"
EMPTY_SYSTEM_ID = "2f1b9e4c-0000-4000-8000-000000000002"
DEVICE_ID = "7d3a0000-0000-4000-8000-00000000ee01"
SERIAL = "91234567"


class FroniusFake(FakeCloud):
    brand = "fronius"

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.wallbox = SimWallbox(SERIAL, self.clock)
        self.lifetime_channel = True  # False: only the per-plug-in `wh` channel, like a bare Wattpilot

    def throttle_response(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(429, {"responseError": "Too many requests"}, {"Retry-After": "120"})

    def setup_routes(self) -> None:
        self.route("GET", "/swqapi/pvsystems", self.systems)
        self.route("GET", r"/swqapi/pvsystems/(?P<sid>[\w-]+)/devices", self.devices)
        self.route("GET", r"/swqapi/pvsystems/(?P<sid>[\w-]+)/devices/(?P<did>[\w-]+)/aggrdata", self.aggr)
        self.route("GET", r"/swqapi/pvsystems/(?P<sid>[\w-]+)/devices/(?P<did>[\w-]+)/flowdata", self.flow)

    def _denied(self, req: FakeRequest) -> FakeResponse | None:
        if req.header("AccessKeyId") != KEY_ID or req.header("AccessKeyValue") != KEY_VALUE:
            return FakeResponse(401, {"responseError": "Unauthorized: AccessKey invalid"})
        return None

    def systems(self, req: FakeRequest) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        items = [
            {"pvSystemId": SYSTEM_ID, "name": "Home", "timeZone": "Europe/Vienna"},
            {"pvSystemId": EMPTY_SYSTEM_ID, "name": "Office", "timeZone": "Europe/Vienna"},
        ]
        offset, limit = int(req.query.get("offset", 0)), int(req.query.get("limit", 50))
        page = items[offset : offset + limit]
        more = offset + limit < len(items)
        links = {"self": "…", "next": "…next" if more else None, "totalItemsCount": len(items)}
        return FakeResponse(200, {"pvSystems": page, "links": links})

    def devices(self, req: FakeRequest, sid: str) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        devices: list[dict[str, Any]] = [
            {
                "deviceId": "inv-1",
                "deviceType": "Inverter",
                "deviceName": "Symo GEN24",
                "serialNumber": "3100",
            }
        ]
        if sid == SYSTEM_ID:
            devices.append(
                {
                    "deviceId": DEVICE_ID,
                    "deviceType": "EVCharger",
                    "deviceName": "Wattpilot",
                    "serialNumber": SERIAL,
                }
            )
        return FakeResponse(200, {"devices": devices, "links": {"totalItemsCount": len(devices)}})

    def aggr(self, req: FakeRequest, sid: str, did: str) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        if did != DEVICE_ID or req.query.get("period") != "total":
            return FakeResponse(404, {"responseError": "not found"})
        channels = [
            {"channelName": "EnergyChargedSession", "unit": "Wh", "value": round(self.wallbox.session_wh, 1)}
        ]
        if self.lifetime_channel:
            channels.append(
                {
                    "channelName": "EnergyCharged",
                    "unit": "kWh",
                    "value": round(self.wallbox.lifetime_wh / 1000, 4),
                }
            )
        return FakeResponse(
            200,
            {"pvSystemId": sid, "deviceId": did, "data": [{"logDateTime": "total", "channels": channels}]},
        )

    def flow(self, req: FakeRequest, sid: str, did: str) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        state = "Charging" if self.wallbox.charging else ("Connected" if self.wallbox.plugged else "Idle")
        return FakeResponse(
            200,
            {
                "pvSystemId": sid,
                "deviceId": did,
                "status": {"isOnline": True},
                "data": {
                    "logDateTime": self.clock.now().isoformat().replace("+00:00", "Z"),
                    "channels": [
                        {
                            "channelName": "PowerCharging",
                            "channelType": "Power",
                            "unit": "W",
                            "value": self.wallbox.power_w,
                        },
                        {"channelName": "ChargingState", "channelType": "State", "unit": "", "value": state},
                    ],
                },
            },
        )


HARNESS = BrandHarness(
    brand="fronius",
    make_fake=FroniusFake,
    good_credentials=lambda fake: {"access_key_id": KEY_ID, "access_key_value": KEY_VALUE},
    bad_credentials=lambda fake: {"access_key_id": KEY_ID, "access_key_value": "wrong-value-000"},
    snapshot_match="/aggrdata",
    energy_tolerance_wh=0.2,
)
