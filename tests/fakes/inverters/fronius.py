"""Fake Fronius Solar.web Query API: key-pair headers, paged pvsystems, devices with a Wattpilot, channels."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._recorded import recorded
from tests.fakes.inverters._server import FakeCloud, FakeRequest, FakeResponse, SimWallbox

KEY_ID = "FKIA0123456789"
KEY_VALUE = "fronius-secret-value-abcdef"
SYSTEM_ID = "2f1b9e4c-0000-4000-8000-000000000001"
EMPTY_SYSTEM_ID = "2f1b9e4c-0000-4000-8000-000000000002"
DEVICE_ID = "7d3a0000-0000-4000-8000-00000000ee01"
SERIAL = "91234567"
INVERTERS = (("inv-1", "3100"), ("inv-2", "3101"))
LOG_S = 300


class FroniusFake(FakeCloud):
    brand = "fronius"

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.wallbox = SimWallbox(SERIAL, self.clock)
        self.lifetime_channel = True  # False: only the per-plug-in `wh` channel, like a bare Wattpilot
        #: the system's PV production (W) at a moment (aware), split evenly over its inverters; histdata
        #: serves each inverter's energy per 5-minute interval
        self.production: Callable[[datetime], float] = lambda moment: 0.0

    def throttle_response(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(429, {"responseError": "Too many requests"}, {"Retry-After": "120"})

    def setup_routes(self) -> None:
        self.route("GET", "/swqapi/pvsystems", self.systems)
        self.route("GET", r"/swqapi/pvsystems/(?P<sid>[\w-]+)/devices", self.devices)
        self.route("GET", r"/swqapi/pvsystems/(?P<sid>[\w-]+)/devices/(?P<did>[\w-]+)/aggrdata", self.aggr)
        self.route("GET", r"/swqapi/pvsystems/(?P<sid>[\w-]+)/devices/(?P<did>[\w-]+)/flowdata", self.flow)
        self.route("GET", r"/swqapi/pvsystems/(?P<sid>[\w-]+)/devices/(?P<did>[\w-]+)/histdata", self.hist)

    def _denied(self, req: FakeRequest) -> FakeResponse | None:
        if req.header("AccessKeyId") != KEY_ID or req.header("AccessKeyValue") != KEY_VALUE:
            return FakeResponse(401, {"responseError": "Unauthorized: AccessKey invalid"})
        return None

    def systems(self, req: FakeRequest) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        body = recorded("fronius", "pvsystems")
        template = body["pvSystems"][0]
        items = [
            {**template, "pvSystemId": SYSTEM_ID, "name": "Home", "timeZone": "Europe/Vienna"},
            {**template, "pvSystemId": EMPTY_SYSTEM_ID, "name": "Office", "timeZone": "Europe/Vienna"},
        ]
        offset, limit = int(req.query.get("offset", 0)), int(req.query.get("limit", 50))
        more = offset + limit < len(items)
        body["links"].update(next="…next" if more else None, totalItemsCount=len(items))
        body["pvSystems"] = items[offset : offset + limit]
        return FakeResponse(200, body)

    def devices(self, req: FakeRequest, sid: str) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        body = recorded("fronius", "devices")
        inverter = body["devices"][0]
        devices: list[dict[str, Any]] = [
            {**inverter, "deviceId": did, "serialNumber": serial} for did, serial in INVERTERS
        ]
        if sid == SYSTEM_ID:  # the Wattpilot's deviceType is our assumption (no public example)
            devices.append(
                {
                    **inverter,
                    "deviceId": DEVICE_ID,
                    "deviceType": "EVCharger",
                    "deviceName": "Wattpilot",
                    "deviceManufacturer": "Fronius",
                    "serialNumber": SERIAL,
                    "numberMPPTrackers": None,
                    "peakPowerDc1": None,
                    "peakPowerDc2": None,
                    "nominalAcPower": 22000.0,
                }
            )
        body["devices"] = devices
        body["links"]["totalItemsCount"] = len(devices)
        return FakeResponse(200, body)

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
        body = recorded("fronius", "flowdata_device")
        channel = body["data"]["channels"][0]
        body.update(pvSystemId=sid, deviceId=did)
        body["data"].update(
            logDateTime=self.clock.now().isoformat().replace("+00:00", "Z"),
            channels=[  # channel names are our assumption (no public Wattpilot example)
                {**channel, "channelName": "PowerCharging", "value": self.wallbox.power_w},
                {"channelName": "ChargingState", "channelType": "State", "unit": "", "value": state},
            ],
        )
        return FakeResponse(200, body)

    def hist(self, req: FakeRequest, sid: str, did: str) -> FakeResponse:
        """Each inverter's logged 5-minute intervals ending in (from, min(to, now)], paged by offset/limit,
        in the recorded answer's shape (every recorded channel; EnergyExported carries the production)."""
        if (denied := self._denied(req)) is not None:
            return denied
        if did not in {d for d, _ in INVERTERS}:
            return FakeResponse(404, {"responseError": "not found"})
        start, end = (datetime.fromisoformat(req.query[k].replace("Z", "+00:00")) for k in ("from", "to"))
        if end - start > timedelta(hours=24):
            return FakeResponse(400, {"responseError": "the period must not exceed 24 hours"})
        end = min(end, self.clock.now())
        first = datetime.fromtimestamp((start.timestamp() // LOG_S + 1) * LOG_S, UTC)
        body = recorded("fronius", "histdata_inverter")
        template = body["data"][0]
        rows = []
        stamp = first
        while stamp <= end:
            watts = sum(self.production(stamp - timedelta(seconds=LOG_S - 30 - 60 * i)) for i in range(5)) / 5
            wh = watts * LOG_S / 3600 / len(INVERTERS)
            channels = [
                {**c, "value": round(wh, 3)} if c["channelName"] == "EnergyExported" else c
                for c in template["channels"]
            ]
            rows.append(
                {**template, "logDateTime": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"), "channels": channels}
            )
            stamp += timedelta(seconds=LOG_S)
        offset, limit = int(req.query.get("offset", 0)), int(req.query.get("limit", 100))
        page = rows[offset : offset + limit]
        more = offset + limit < len(rows)
        base = f"{req.path}?from={req.query['from']}&to={req.query['to']}"
        body.update(pvSystemId=sid, deviceId=did, data=page)
        body["links"].update(
            first=f"{base}&offset=0&limit={limit}",
            prev=f"{base}&offset={max(0, offset - limit)}&limit={limit}" if offset else None,
            self=f"{base}&offset={offset}&limit={limit}",
            next=f"{base}&offset={offset + limit}&limit={limit}" if more else None,
            last=f"{base}&offset={max(0, len(rows) - limit)}&limit={limit}",
            totalItemsCount=len(rows),
        )
        return FakeResponse(200, body)


HARNESS = BrandHarness(
    brand="fronius",
    make_fake=FroniusFake,
    good_credentials=lambda fake: {"access_key_id": KEY_ID, "access_key_value": KEY_VALUE},
    bad_credentials=lambda fake: {"access_key_id": KEY_ID, "access_key_value": "wrong-value-000"},
    snapshot_match="/aggrdata",
    energy_tolerance_wh=0.2,
)
