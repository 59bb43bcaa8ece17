"""Fake iSolarCloud OpenAPI: appkey + x-access-key, login token, result codes E901/E998/E999.

The login, device-list, real-time and minute-history answers are built from the examples of Sungrow's
developer portal in ``tests/fixtures/vendors/sungrow/`` (same keys); the charger is device type 51 with the
documented points 33708 (kW) and 33716 (status code). The minute history keeps the documented rules: no sample
of the plant's current day, a window of at most 3 hours. The energy points ``p_total_charge_energy`` and
``p_session_charge_energy`` are our assumption: no public source documents a charger energy point (see
SOURCE.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._recorded import recorded
from tests.fakes.inverters._server import FakeCloud, FakeRequest, FakeResponse, SimPvCounter, SimWallbox

APPKEY = "A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6"
ACCESS_KEY = "sungrow-access-key-0123456789"
ACCOUNT = "driver@example.com"
PASSWORD = "sungrow-password-1"
PS_ID = 1_122_334
EMPTY_PS_ID = 1_122_335
PS_KEY = f"{PS_ID}_51_1_1"
SERIAL = "A2390123456"
PLANT_KEY = f"{PS_ID}_11_0_0"
TZ = "Europe/Berlin"


def result(data: object, code: str = "1", msg: str = "success") -> FakeResponse:
    return FakeResponse(
        200,
        {"req_serial_num": secrets.token_hex(6), "result_code": code, "result_msg": msg, "result_data": data},
    )


class SungrowFake(FakeCloud):
    brand = "sungrow"

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.wallbox = SimWallbox(SERIAL, self.clock)
        self.tokens: set[str] = set()
        self.throttle_code = "E901"
        #: the plant's PV production (W) at a moment (aware); p83022 is its yield since local midnight
        self.production: Callable[[datetime], float] = lambda moment: 0.0
        self.pv = SimPvCounter(self.clock, lambda moment: self.production(moment), 0.0)
        #: a result code the minute history answers with instead of data (None: it answers)
        self.history_code: str | None = None

    def throttle_response(self, request: FakeRequest) -> FakeResponse:
        return result(
            None, self.throttle_code, "too frequent" if self.throttle_code == "E901" else "limit reached"
        )

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def setup_routes(self) -> None:
        self.route("POST", "/openapi/login", self.login)
        self.route("POST", "/openapi/getPowerStationList", self.stations)
        self.route("POST", "/openapi/getDeviceList", self.devices)
        self.route("POST", "/openapi/getDeviceRealTimeData", self.realtime)
        self.route("POST", "/openapi/getDevicePointMinuteDataList", self.minute_history)

    def _app_ok(self, req: FakeRequest) -> bool:
        return req.json().get("appkey") == APPKEY and req.header("x-access-key") == ACCESS_KEY

    def _check(self, req: FakeRequest) -> FakeResponse | None:
        if not self._app_ok(req):
            return result(None, "E911", "The appkey is not authorized")
        if req.json().get("token") not in self.tokens:
            return result(None, "E00003", "The token is invalid")
        return None

    def login(self, req: FakeRequest) -> FakeResponse:
        if not self._app_ok(req):
            return result(None, "E911", "The appkey is not authorized")
        body = req.json()
        if body.get("user_account") != ACCOUNT or body.get("user_password") != PASSWORD:
            return result({"login_state": "0", "msg": "account or password error"})
        token = f"{secrets.token_hex(6)}_{secrets.token_hex(10)}"
        self.tokens.add(token)
        data = recorded("sungrow", "login")["result_data"]
        data.update(token=token, user_id="77", user_account=ACCOUNT, email=ACCOUNT)
        return result(data)

    def stations(self, req: FakeRequest) -> FakeResponse:
        if (bad := self._check(req)) is not None:
            return bad
        rows = [{"ps_id": PS_ID, "ps_name": "Home"}, {"ps_id": EMPTY_PS_ID, "ps_name": "Shed"}]
        return result({"rowCount": len(rows), "pageList": rows})

    def devices(self, req: FakeRequest) -> FakeResponse:
        if (bad := self._check(req)) is not None:
            return bad
        ps_id = int(req.json().get("ps_id"))
        [device] = recorded("sungrow", "getDeviceList")["result_data"]["pageList"]  # no rowCount there
        rows = [
            {**device, "type_name": "Inverter", "device_name": "SH10RT", "device_sn": "INV1"}
            | {"ps_id": ps_id, "ps_key": f"{ps_id}_1_1_1", "device_model_code": "SH10RT"}
        ]
        if ps_id == PS_ID:
            rows.append(  # device type 51 "Charger" is documented (Appendix 1); the example is an inverter
                {**device, "device_type": 51, "type_name": "Charger", "device_name": "iEnergyCharger"}
                | {"device_sn": SERIAL, "ps_id": ps_id, "ps_key": PS_KEY, "device_model_code": "AC011E-01"}
            )
        return result({"pageList": rows})

    def realtime(self, req: FakeRequest) -> FakeResponse:
        if (bad := self._check(req)) is not None:
            return bad
        answer = recorded("sungrow", "getDeviceRealTimeData")["result_data"]
        if req.json().get("ps_key_list") == [PLANT_KEY]:
            return self.plant_points(req, answer)
        if req.json().get("ps_key_list") != [PS_KEY]:
            answer["device_point_list"] = []
            return result(answer)
        [entry] = answer["device_point_list"]
        point = {k: v for k, v in entry["device_point"].items() if not k[1:].isdigit()}  # drop plant points
        status = "3" if self.wallbox.charging else ("2" if self.wallbox.plugged else "1")
        point.update(
            ps_key=PS_KEY,
            ps_id=PS_ID,
            device_sn=SERIAL,
            device_name="iEnergyCharger",
            device_time=self.clock.now().strftime("%Y%m%d%H%M%S"),
            p33708=f"{self.wallbox.power_w / 1000:.3f}",  # documented: kW
            p33716=status,  # documented: 1 idle, 2 plugged, 3 charging
            # assumed names (no documented charger energy point):
            p_total_charge_energy=f"{self.wallbox.lifetime_wh / 1000:.3f}",
            p_session_charge_energy=f"{self.wallbox.session_wh / 1000:.3f}",
        )
        answer["device_point_list"] = [{"device_point": point}]
        return result(answer)

    def plant_points(self, req: FakeRequest, answer: dict) -> FakeResponse:
        """The recorded plant entry: day yield (Wh since local midnight) and power (W) as strings, as of the
        last 5-minute step, device_time plant-local."""
        if req.json().get("device_type") != 11:
            answer["device_point_list"] = []
            return result(answer)
        tz = ZoneInfo(TZ)
        now = self.clock.now()
        step = now.replace(minute=now.minute // 5 * 5, second=0, microsecond=0)
        local = step.astimezone(tz)
        midnight = local.replace(hour=0, minute=0)
        [entry] = answer["device_point_list"]
        entry["device_point"].update(
            device_name="Home",
            ps_key=PLANT_KEY,
            ps_id=PS_ID,
            p83022=f"{self.pv.since(midnight, until=step):.1f}",
            p83033=f"{self.production(step - timedelta(seconds=30)):.1f}",
            device_time=local.strftime("%Y%m%d%H%M%S"),
        )
        return result(answer)

    def minute_history(self, req: FakeRequest) -> FakeResponse:
        """The recorded answer's shape: per asked inverter ps_key its samples every ``minute_interval``
        minutes from start to end (plant-local), ``p1`` the day's yield so far (Wh) and ``p24`` the power
        (W) as strings; nothing of the plant's current day; a window over 3 hours refused."""
        if (bad := self._check(req)) is not None:
            return bad
        if self.history_code is not None:
            return result(None, self.history_code, "refused")
        body = req.json()
        tz = ZoneInfo(TZ)
        start, end = (
            datetime.strptime(body[k], "%Y%m%d%H%M%S").replace(tzinfo=tz)
            for k in ("start_time_stamp", "end_time_stamp")
        )
        if end - start > timedelta(hours=3):  # documented limit; the code is ours
            return result(None, "E_TIME_RANGE", "the time range is over 3 hours")
        step = timedelta(minutes=int(body.get("minute_interval") or 5))
        points = str(body.get("points", "")).split(",")
        today = self.clock.now().astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
        self.pv.wh()
        data: dict[str, list[dict[str, str]]] = {}
        for ps_key in body.get("ps_key_list") or []:
            if not str(ps_key).endswith("_1_1_1"):  # the fake's only inverters
                continue
            samples, moment = [], start
            while moment <= end and moment < today:
                midnight = moment.replace(hour=0, minute=0)
                values = {
                    "p1": f"{self.pv.since(midnight.astimezone(UTC), until=moment.astimezone(UTC)):.1f}",
                    "p24": f"{self.production(moment.astimezone(UTC)):.1f}",
                }
                sample = {"time_stamp": moment.strftime("%Y%m%d%H%M%S")}
                sample |= {p: values[p] for p in points if p in values}  # a point without data is left out
                samples.append(sample)
                moment += step
            data[str(ps_key)] = samples
        return result(data)


HARNESS = BrandHarness(
    brand="sungrow",
    make_fake=SungrowFake,
    good_credentials=lambda fake: {
        "appkey": APPKEY,
        "access_key": ACCESS_KEY,
        "user_account": ACCOUNT,
        "user_password": PASSWORD,
    },
    bad_credentials=lambda fake: {
        "appkey": APPKEY,
        "access_key": ACCESS_KEY,
        "user_account": ACCOUNT,
        "user_password": "wrong-pw-1",
    },
    snapshot_match="getDeviceRealTimeData",
    energy_tolerance_wh=1.0,
    expire_session=lambda fake: fake.expire_tokens(),  # type: ignore[attr-defined]
)
