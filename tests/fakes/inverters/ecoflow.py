"""Fake EcoFlow IoT open API: checks the HMAC-SHA256 signature, device list, PowerOcean ``quota/all``."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._server import FakeCloud, FakeRequest, FakeResponse, SimWallbox

ACCESS_KEY = "Fp4SvIprYSDPXtYJidEtUAd1o"
SECRET_KEY = "WIbFEKre0s6sLnh4ei7SPUeYnptHG6V"
OCEAN = "R371ZD1AZH5P0001"
OTHER_OCEAN = "R371ZD1AZH5P0002"
PULSE = "C101ZE1AB2340123"


def sign_string(params: dict[str, str], access: str, nonce: str, timestamp: str) -> str:
    """Written independently of the adapter, from EcoFlow's documentation of the signing string."""
    pairs = "&".join(f"{k}={params[k]}" for k in sorted(params))
    tail = f"accessKey={access}&nonce={nonce}&timestamp={timestamp}"
    return f"{pairs}&{tail}" if pairs else tail


class EcoFlowFake(FakeCloud):
    brand = "ecoflow"

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.wallbox = SimWallbox(PULSE, self.clock)
        self.energy_mode = "session"  # what ems_ev.evChargingEnergy counts: "session" or "lifetime"
        self.nested = False
        self.signatures_checked = 0

    def throttle_response(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(429, {"code": "429", "message": "Too Many Requests"})

    def setup_routes(self) -> None:
        self.route("GET", "/iot-open/sign/device/list", self.devices)
        self.route("GET", "/iot-open/sign/device/quota/all", self.quota)

    def _denied(self, req: FakeRequest) -> FakeResponse | None:
        access, nonce, ts, sign = (req.header(h) or "" for h in ("accessKey", "nonce", "timestamp", "sign"))
        if access != ACCESS_KEY:
            return FakeResponse(200, {"code": "8513", "message": "accessKey is invalid"})
        if abs(int(ts or 0) / 1000 - self.clock.now().timestamp()) > 900:
            return FakeResponse(200, {"code": "8524", "message": "timestamp is wrong"})
        expected = hmac.new(
            SECRET_KEY.encode(), sign_string(req.query, access, nonce, ts).encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, sign):
            return FakeResponse(200, {"code": "8521", "message": "signature is wrong"})
        self.signatures_checked += 1
        return None

    def devices(self, req: FakeRequest) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        data = [
            {"sn": OCEAN, "deviceName": "PowerOcean Home", "online": 1, "productName": "PowerOcean"},
            {"sn": OTHER_OCEAN, "deviceName": "PowerOcean Barn", "online": 1, "productName": "PowerOcean"},
            {"sn": PULSE, "deviceName": "Garage charger", "online": 1, "productName": "PowerPulse"},
        ]
        return FakeResponse(
            200, {"code": "0", "message": "Success", "data": data, "eagleEyeTraceId": "x", "tid": "y"}
        )

    def quota(self, req: FakeRequest) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        sn = req.query.get("sn")
        data: dict[str, Any] = {"bpSoc": 80, "sysLoadPwr": 420.0}
        if sn == OCEAN:
            energy = self.wallbox.session_wh if self.energy_mode == "session" else self.wallbox.lifetime_wh
            ev = {
                "evChargingEnergy": round(energy, 1),
                "chargingStatus": 2 if self.wallbox.charging else 0,
                "evChargingPower": self.wallbox.power_w,
            }
            if self.nested:
                data["ems_ev"] = ev
            else:
                data.update({f"ems_ev.{k}": v for k, v in ev.items()})
        elif sn != OTHER_OCEAN:
            return FakeResponse(200, {"code": "1006", "message": "device not found"})
        return FakeResponse(200, {"code": "0", "message": "Success", "data": data})


HARNESS = BrandHarness(
    brand="ecoflow",
    make_fake=EcoFlowFake,
    good_credentials=lambda fake: {"access_key": ACCESS_KEY, "secret_key": SECRET_KEY},
    bad_credentials=lambda fake: {"access_key": ACCESS_KEY, "secret_key": "not-the-secret-key"},
    snapshot_match="/quota/all",
    energy_tolerance_wh=0.2,
)
