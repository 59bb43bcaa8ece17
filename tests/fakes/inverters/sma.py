"""Fake SMA Monitoring API: OAuth2 client-credentials tokens, plants, devices, EV-charger measurement sets."""

from __future__ import annotations

import secrets
from datetime import datetime

from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._server import FakeCloud, FakeRequest, FakeResponse, SimWallbox

CLIENT_ID = "pipelet-sma-client"
CLIENT_SECRET = "sma-client-secret-0987654321"
PLANT = "8111111"
EMPTY_PLANT = "8222222"
DEVICE_ID = "9333333"
SERIAL = "3012345678"


class SmaFake(FakeCloud):
    brand = "sma"

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.wallbox = SimWallbox(SERIAL, self.clock)
        self.tokens: dict[str, float] = {}
        self.token_lifetime_s = 3_600
        self.report_lifetime = True

    def throttle_response(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(429, {"title": "Too Many Requests"}, {"Retry-After": "180"})

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def setup_routes(self) -> None:
        self.route("POST", "/oauth2/token", self.token)
        self.route("GET", "/v1/plants", self.plants)
        self.route("GET", r"/v1/plants/(?P<pid>\d+)/devices", self.devices)
        self.route("GET", r"/v1/devices/(?P<did>\d+)/measurements/sets/(?P<set>\w+)/Recent", self.recent)

    def token(self, req: FakeRequest) -> FakeResponse:
        form = req.form()
        if form.get("grant_type") != "client_credentials":
            return FakeResponse(400, {"error": "unsupported_grant_type"})
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return FakeResponse(401, {"error": "invalid_client"})
        token = secrets.token_hex(16)
        self.tokens[token] = self.clock.now().timestamp() + self.token_lifetime_s
        return FakeResponse(
            200, {"access_token": token, "expires_in": self.token_lifetime_s, "token_type": "Bearer"}
        )

    def _denied(self, req: FakeRequest) -> FakeResponse | None:
        token = (req.header("authorization") or "").removeprefix("Bearer ")
        if self.tokens.get(token, 0) <= self.clock.now().timestamp():
            return FakeResponse(401, {"title": "Unauthorized"})
        return None

    def plants(self, req: FakeRequest) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        return FakeResponse(
            200,
            {
                "plants": [
                    {"plantId": PLANT, "name": "Home", "timezone": "Europe/Berlin"},
                    {"plantId": EMPTY_PLANT, "name": "Parents", "timezone": "Europe/Berlin"},
                ]
            },
        )

    def devices(self, req: FakeRequest, pid: str) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        devices = [
            {
                "deviceId": "9000001",
                "name": "STP 10.0",
                "type": "Solar Inverters",
                "product": "STP 10.0-3AV-40",
            }
        ]
        if pid == PLANT:
            devices.append(
                {
                    "deviceId": DEVICE_ID,
                    "name": "Garage",
                    "type": "EV Charger",
                    "product": "EVC22-3AC-10",
                    "serial": SERIAL,
                }
            )
        return FakeResponse(200, {"devices": devices})

    def recent(self, req: FakeRequest, did: str, set: str) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        if did != DEVICE_ID or set != "EnergyAndPowerEvCharger":
            return FakeResponse(404, {"title": "Not Found"})
        row = {
            "time": self.clock.now().isoformat(),
            "Measurement.ChaSess.WhIn": round(self.wallbox.session_wh, 1),
            "Measurement.Metering.GridMs.TotWIn": self.wallbox.power_w,
        }
        if self.report_lifetime:
            row["Measurement.Metering.GridMs.TotWhIn"] = round(self.wallbox.lifetime_wh, 1)
        return FakeResponse(200, {"setType": set, "device": {"deviceId": did}, "set": [row]})


HARNESS = BrandHarness(
    brand="sma",
    make_fake=SmaFake,
    good_credentials=lambda fake: {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    bad_credentials=lambda fake: {"client_id": CLIENT_ID, "client_secret": "nope-not-it"},
    snapshot_match="/Recent",
    energy_tolerance_wh=0.2,
    expire_session=lambda fake: fake.expire_tokens(),  # type: ignore[attr-defined]
)
