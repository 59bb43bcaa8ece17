"""Fake SMA Monitoring API: OAuth2 client-credentials tokens, plants, devices, EV-charger measurement sets.

The token, plant list, lean device list and measurement-set envelope are built from the answers recorded by
SolarNetwork (``tests/fixtures/vendors/sma/``, same keys). The EV charger's device ``type``, its set type
``EnergyAndPowerEvCharger`` and the ``Measurement.*`` row keys are our assumption: no public source has an
SMA EV Charger in the cloud API (see SOURCE.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._recorded import recorded
from tests.fakes.inverters._server import FakeCloud, FakeRequest, FakeResponse, SimWallbox

CLIENT_ID = "pipelet-sma-client"
CLIENT_SECRET = "sma-client-secret-0987654321"
PLANT = "8111111"
EMPTY_PLANT = "8222222"
DEVICE_ID = "9333333"
SERIAL = "3012345678"
TZ = "Europe/Berlin"
INVERTERS = ("9000001", "9000002")


class SmaFake(FakeCloud):
    brand = "sma"

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.wallbox = SimWallbox(SERIAL, self.clock)
        self.tokens: dict[str, float] = {}
        self.refresh_tokens: set[str] = set()
        self.token_lifetime_s = 3_600
        self.report_lifetime = True
        #: the plant's PV production (W) at a moment (aware), split evenly over its inverters; the
        #: EnergyAndPowerPv Day set serves each inverter's Wh per 5-minute interval
        self.production: Callable[[datetime], float] = lambda moment: 0.0

    def throttle_response(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(429, {"title": "Too Many Requests"}, {"Retry-After": "180"})

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def setup_routes(self) -> None:
        self.route("POST", "/oauth2/token", self.token)
        self.route("GET", "/v1/plants", self.plants)
        self.route("GET", r"/v1/plants/(?P<pid>\d+)/devices/lean", self.devices)
        self.route("GET", r"/v1/devices/(?P<did>\d+)/measurements/sets/(?P<set>\w+)/Recent", self.recent)
        self.route("GET", r"/v1/devices/(?P<did>\d+)/measurements/sets/EnergyAndPowerPv/Day", self.pv_day)

    def token(self, req: FakeRequest) -> FakeResponse:
        form = req.form()
        grant = form.get("grant_type")
        if grant not in ("client_credentials", "refresh_token"):
            return FakeResponse(400, {"error": "unsupported_grant_type"})
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return FakeResponse(401, {"error": "invalid_client"})
        if grant == "refresh_token" and form.get("refresh_token") not in self.refresh_tokens:
            return FakeResponse(400, {"error": "invalid_grant"})
        token, refresh = secrets.token_hex(16), secrets.token_hex(16)
        self.tokens[token] = self.clock.now().timestamp() + self.token_lifetime_s
        self.refresh_tokens.add(refresh)  # the recorded answer carries a refresh_token
        body = recorded("sma", "token")
        body.update(access_token=token, expires_in=self.token_lifetime_s, refresh_token=refresh)
        return FakeResponse(200, body)

    def _denied(self, req: FakeRequest) -> FakeResponse | None:
        token = (req.header("authorization") or "").removeprefix("Bearer ")
        if self.tokens.get(token, 0) <= self.clock.now().timestamp():
            return FakeResponse(401, {"title": "Unauthorized"})
        return None

    def plants(self, req: FakeRequest) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        body = recorded("sma", "plants")
        first = body["plants"][0]
        body["plants"] = [
            {**first, "plantId": PLANT, "name": "Home", "timezone": TZ},
            {**first, "plantId": EMPTY_PLANT, "name": "Parents", "timezone": TZ},
        ]
        return FakeResponse(200, body)

    def devices(self, req: FakeRequest, pid: str) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        recorded_devices = recorded("sma", "devices_lean")["devices"]
        inverter = next(d for d in recorded_devices if d["type"] == "Solar Inverters")
        devices = [
            {**inverter, "deviceId": did, "name": f"STP 10.0 #{n}", "product": "STP 10.0-3AV-40"}
            for n, did in enumerate(INVERTERS, 1)
        ]
        if pid == PLANT:
            meter = next(d for d in recorded_devices if d.get("serial") and "generatorPower" not in d)
            devices.append(  # type and product of an EV Charger: our assumption (no public example)
                {**meter, "deviceId": DEVICE_ID, "name": "Garage", "type": "EV Charger"}
                | {"product": "EVC22-3AC-10", "productId": 0, "serial": SERIAL}
            )
        return FakeResponse(200, {"devices": devices})

    def recent(self, req: FakeRequest, did: str, set: str) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        if did != DEVICE_ID or set != "EnergyAndPowerEvCharger":
            return FakeResponse(404, {"title": "Not Found"})
        # the recorded rows carry the plant's local time without a zone; the keys are our assumption
        local = self.clock.now().astimezone(ZoneInfo(TZ)).replace(tzinfo=None, microsecond=0)
        row = {
            "time": local.isoformat(),
            "Measurement.ChaSess.WhIn": round(self.wallbox.session_wh, 1),
            "Measurement.Metering.GridMs.TotWIn": self.wallbox.power_w,
        }
        if self.report_lifetime:
            row["Measurement.Metering.GridMs.TotWhIn"] = round(self.wallbox.lifetime_wh, 1)
        body = recorded("sma", "device_data_PowerAc_Day")
        body["plant"].update(plantId=PLANT, name="Home", timezone=TZ)
        body["device"].update(deviceId=did, name="Garage", timezone=TZ)
        body.update(setType=set, resolution="FiveMinutes", set=[row])
        return FakeResponse(200, body)

    def pv_day(self, req: FakeRequest, did: str) -> FakeResponse:
        """One plant-local day of 5-minute PV energy (Wh, ReturnEnergyValues=true) up to now, the running
        interval included with what it has so far (as a live cloud would), in the recorded answer's shape."""
        if (denied := self._denied(req)) is not None:
            return denied
        if did not in INVERTERS:
            return FakeResponse(404, {"title": "Not Found"})
        if req.query.get("ReturnEnergyValues") != "true":
            return FakeResponse(400, {"title": "this fake serves energy values only"})
        tz = ZoneInfo(TZ)
        day = date.fromisoformat(req.query["Date"])
        moment = datetime(day.year, day.month, day.day, tzinfo=tz)
        end = min(moment + timedelta(days=1), self.clock.now())
        rows = []
        while moment < end:
            minutes = [moment + timedelta(minutes=i, seconds=30) for i in range(5)]
            wh = sum(self.production(m) / 60 for m in minutes if m < end) / len(INVERTERS)
            rows.append({"time": moment.replace(tzinfo=None).isoformat(), "pvGeneration": round(wh, 3)})
            moment += timedelta(minutes=5)
        body = recorded("sma", "device_data_EnergyAndPowerPv_Day")
        body["plant"].update(plantId=PLANT, name="Home", timezone=TZ)
        body["device"].update(deviceId=did, name="STP 10.0", timezone=TZ)
        body["set"] = rows
        return FakeResponse(200, body)


HARNESS = BrandHarness(
    brand="sma",
    make_fake=SmaFake,
    good_credentials=lambda fake: {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    bad_credentials=lambda fake: {"client_id": CLIENT_ID, "client_secret": "nope-not-it"},
    snapshot_match="/Recent",
    energy_tolerance_wh=0.2,
    expire_session=lambda fake: fake.expire_tokens(),  # type: ignore[attr-defined]
)
