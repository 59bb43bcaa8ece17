"""Fake FusionSolar Northbound API: xsrf-token login, one session per account, failCodes 305/407.

Answers are built from the recorded examples in ``tests/fixtures/vendors/huawei/`` (envelope, plant,
device, real-time KPI and hourly plant data entries with exactly the vendor's keys); only the charger's
device type and its ``dataItemMap`` signal ids are our assumption (no public example has a charger, see
SOURCE.md). The hourly plant data keeps the documented limits: one call a minute, ceil(plants/100) + 24 a
day, 407 past them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pipelet_app.inverters.huawei import reset_sessions
from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._recorded import recorded
from tests.fakes.inverters._server import FakeCloud, FakeRequest, FakeResponse, SimPvCounter, SimWallbox

USER = "pipelet_nb_user"
SYSTEM_CODE = "Huawei-System-Code-123"
PLANT = "NE=33554433"
EMPTY_PLANT = "NE=33554999"
CHARGER_ID = 1_000_000_033_554_501
SERIAL = "HWSC2207001234"
INVERTER_ID = 1_000_000_033_554_433


def ok(data: object) -> FakeResponse:
    return FakeResponse(200, {"success": True, "failCode": 0, "message": None, "data": data})


def fail(code: int, message: str) -> FakeResponse:
    return FakeResponse(200, {"success": False, "failCode": code, "message": message, "data": None})


class HuaweiFake(FakeCloud):
    brand = "huawei"

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.wallbox = SimWallbox(SERIAL, self.clock)
        self.token: str | None = None  # one session per account: a new login replaces it
        self.token_at = 0.0
        self.logins: list[float] = []
        self.kpi_at: dict[int, float] = {}
        self.kpi_interval_s = 300.0
        self.report_lifetime = True
        #: the plant's PV production (W) at a moment (aware); the inverter's total_cap (kWh) integrates it
        self.production: Callable[[datetime], float] = lambda moment: 0.0
        self.pv = SimPvCounter(self.clock, lambda moment: self.production(moment), 27_152_370.0)
        #: the plant's zone: getKpiStationHour lists the hours of the plant's day
        self.tz = "UTC"
        self.history_calls: list[float] = []
        #: the hourly plant data refused outright (an account without the right to it)
        self.history_refused = False

    def throttle_response(self, request: FakeRequest) -> FakeResponse:
        return fail(407, "ACCESS_FREQUENCY_IS_TOO_HIGH")

    def expire_tokens(self) -> None:
        self.token = None

    def setup_routes(self) -> None:
        self.route("POST", "/thirdData/login", self.login)
        self.route("POST", "/thirdData/stations", self.stations)
        self.route("POST", "/thirdData/getDevList", self.devices)
        self.route("POST", "/thirdData/getDevRealKpi", self.kpi)
        self.route("POST", "/thirdData/getKpiStationHour", self.station_hours)

    def login(self, req: FakeRequest) -> FakeResponse:
        now = self.clock.now().timestamp()
        self.logins.append(now)
        if sum(1 for t in self.logins if t > now - 600) > 5:
            return fail(407, "ACCESS_FREQUENCY_IS_TOO_HIGH")
        body = req.json()
        if body.get("userName") != USER or body.get("systemCode") != SYSTEM_CODE:
            return fail(20001, "USERNAME_OR_PASSWORD_ERROR")
        self.token, self.token_at = secrets.token_hex(12), now
        answer = ok(None)
        answer.headers = {"xsrf-token": self.token, "Set-Cookie": f"XSRF-TOKEN={self.token}; Path=/"}
        return answer

    def _session_ok(self, req: FakeRequest) -> bool:
        fresh = self.clock.now().timestamp() - self.token_at < 1800
        return self.token is not None and fresh and req.header("XSRF-TOKEN") == self.token

    def _params(self, **params: object) -> dict[str, object]:
        return {"currentTime": int(self.clock.now().timestamp() * 1000), **params}

    def stations(self, req: FakeRequest) -> FakeResponse:
        if not self._session_ok(req):
            return fail(305, "USER_MUST_RELOGIN")
        body = recorded("huawei", "stations")  # the recorded plant list has no `params`
        plant = body["data"]["list"][0]
        body["data"]["list"] = [
            {**plant, "plantCode": PLANT, "plantName": "Home", "capacity": 9.9},
            {**plant, "plantCode": EMPTY_PLANT, "plantName": "Garage", "capacity": 4.0},
        ]
        body["data"].update(pageCount=1, pageNo=req.json().get("pageNo", 1), total=2)
        return FakeResponse(200, body)

    def devices(self, req: FakeRequest) -> FakeResponse:
        if not self._session_ok(req):
            return fail(305, "USER_MUST_RELOGIN")
        code = req.json().get("stationCodes")
        body = recorded("huawei", "getDevList")
        inverter, meter = body["data"]
        devices = [{**inverter, "id": INVERTER_ID, "esnCode": "INV1", "stationCode": code}]
        if code == PLANT:
            devices.append(  # the charger's devTypeId is our assumption (no public example has one)
                {**meter, "devName": "Smart Charger", "devTypeId": 60080, "esnCode": SERIAL}
                | {"id": CHARGER_ID, "stationCode": code, "softwareVersion": "V100R001C00"}
            )
        body.update(data=devices, params=self._params(stationCodes=code))
        return FakeResponse(200, body)

    def kpi(self, req: FakeRequest) -> FakeResponse:
        if not self._session_ok(req):
            return fail(305, "USER_MUST_RELOGIN")
        body = req.json()
        now = self.clock.now().timestamp()
        dev_type = int(body.get("devTypeId", 0))
        if now - self.kpi_at.get(dev_type, -1e12) < self.kpi_interval_s:
            return fail(407, "ACCESS_FREQUENCY_IS_TOO_HIGH")
        self.kpi_at[dev_type] = now
        if dev_type == 38:
            return self.inverter_kpi(body)
        answer = recorded("huawei", "getDevRealKpi_meter")
        answer["params"] = self._params(devIds=body.get("devIds"), devTypeId=dev_type)
        if str(CHARGER_ID) not in str(body.get("devIds", "")).split(","):
            answer["data"] = []
            return FakeResponse(200, answer)
        status = "Charging" if self.wallbox.charging else "Standby"
        items = {
            "10035": round(self.wallbox.session_wh / 1000, 3),
            "10013": round(self.wallbox.power_w / 1000, 3),
            "10004": status,
        }
        if self.report_lifetime:
            items["10008"] = round(self.wallbox.lifetime_wh / 1000, 3)
        # the recorded entries carry devId, dataItemMap and sn, and no collectTime: the answer's time is
        # params.currentTime; the signal ids in dataItemMap are our assumption (see SOURCE.md)
        answer["data"] = [{"devId": CHARGER_ID, "dataItemMap": items, "sn": SERIAL}]
        return FakeResponse(200, answer)

    def inverter_kpi(self, body: dict) -> FakeResponse:
        """The recorded inverter entry (every key as recorded), its lifetime yield and power simulated."""
        answer = recorded("huawei", "getDevRealKpi_inverter")
        answer["params"] = self._params(devIds=body.get("devIds"), devTypeId=38)
        ids = str(body.get("devIds", "")).split(",")
        entry = answer["data"][0]
        now = self.clock.now()
        items = {
            **entry["dataItemMap"],
            "total_cap": round(self.pv.wh() / 1000, 3),
            "active_power": round(self.production(now) / 1000, 3),
        }
        answer["data"] = (
            [{**entry, "devId": INVERTER_ID, "dataItemMap": items, "sn": "INV1"}]
            if str(INVERTER_ID) in ids
            else []
        )
        return FakeResponse(200, answer)

    def station_hours(self, req: FakeRequest) -> FakeResponse:
        """The recorded hourly answer: one entry per hour of the plant's day up to the running one,
        ``inverter_power`` the hour's yield in kWh (the running hour's so far), null before the simulation."""
        if not self._session_ok(req):
            return fail(305, "USER_MUST_RELOGIN")
        now = self.clock.now()
        t = now.timestamp()
        recent = [c for c in self.history_calls if c > t - 86_400]
        self.history_calls.append(t)
        if (recent and t - recent[-1] < 60) or len(recent) >= 25:  # ceil(1/100) + 24 a day, 1 a minute
            return fail(407, "ACCESS_FREQUENCY_IS_TOO_HIGH")
        if self.history_refused:  # the code is ours: any failCode other than 305/407 reads the same
            return fail(20056, "NO_RIGHT_TO_THIS_INTERFACE")
        body = req.json()
        code, asked = body.get("stationCodes"), int(body.get("collectTime", 0))
        tz = ZoneInfo(self.tz)
        day = datetime.fromtimestamp(asked / 1000, UTC).astimezone(tz)
        midnight = day.replace(hour=0, minute=0, second=0, microsecond=0)
        answer = recorded("huawei", "getKpiStationHour")
        [template, *_] = answer["data"]
        self.pv.wh()
        first_minute = self.pv.minutes[0][0] if self.pv.minutes else now
        entries = []
        for hour in range(24):
            start = (midnight + timedelta(hours=hour)).astimezone(UTC)
            if start > now:
                break
            end = start + timedelta(hours=1)
            items = dict(template["dataItemMap"])
            if end > first_minute:
                items["inverter_power"] = round(self.pv.since(start, until=end) / 1000, 5)
            stamp = int(start.timestamp() * 1000)
            entries.append({**template, "collectTime": stamp, "stationCode": code, "dataItemMap": items})
        answer.update(data=entries, params=self._params(collectTime=asked, stationCodes=code))
        return FakeResponse(200, answer)


def _make() -> HuaweiFake:
    reset_sessions()
    return HuaweiFake()


HARNESS = BrandHarness(
    brand="huawei",
    make_fake=_make,
    good_credentials=lambda fake: {"userName": USER, "systemCode": SYSTEM_CODE},
    bad_credentials=lambda fake: {"userName": USER, "systemCode": "wrong-code-123"},
    snapshot_match="getDevRealKpi",
    energy_tolerance_wh=1.0,
    expire_session=lambda fake: fake.expire_tokens(),  # type: ignore[attr-defined]
)
