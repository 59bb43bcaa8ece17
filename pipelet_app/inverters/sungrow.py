"""Sungrow iSolarCloud OpenAPI: iEnergyCharger through the plant's device list and real-time points.

Auth: every request is a JSON POST carrying ``appkey`` in the body and ``x-access-key`` in a header (the
developer app's pair, from the credential dict or settings ``SUNGROW_APPKEY``/``SUNGROW_ACCESS_KEY``),
plus the ``token`` from ``/openapi/login`` with the owner's account and password. The token is kept in
``credentials`` and renewed once when the cloud says it is invalid.

Every answer is HTTP 200 with ``result_code``: ``"1"`` success; ``E901`` too frequent, ``E998`` monthly cap,
``E999`` hourly cap (all become Throttled with a matching wait).

Documented (the developer portal, https://developer-api.isolarcloud.com; examples recorded in
``tests/fixtures/vendors/sungrow/``, sources in its SOURCE.md): a charger is device type ``51`` ("Charger",
Appendix 1); its common measuring points are ``33708`` charging power (kW, per the point table) and ``33716``
charging status (1 idle, 2 standby/plugged, 3 charging, 4/5 paused by station/vehicle, 6 complete, 7 reserved,
8 disabled, 9 fault); a real-time answer is ``result_data{fail_ps_key_list, device_point_list[]{device_point{
ps_key, device_sn, device_time (YYYYMMDDhhmmss), p<point id>: "<value>", ...}}}`` with values as strings;
``E00003`` is "token invalid".

Not in any public source, so assumed (to verify with a real account): **a charged-energy point**. The
documented charger points have power and status but no energy counter, lifetime or per session; the adapter
asks for ``LIFETIME_POINTS`` (kWh) and else ``SESSION_POINTS`` (kWh since plug-in, accumulated), names of our
own. Also assumed: the other token-invalid codes in ``TOKEN_INVALID``, the app-key refusals
``APP_REFUSED``; ``device_time`` is in the plant's zone (else UTC). The power unit is ambiguous in the
documentation (the endpoint note says "smallest unit, W", the charger point table says kW): kW is used.
PV production (a site's source, ``fetch_production``), two reads:

* **today**: the plant's own real-time points, exactly the recorded example's request:
  ``getDeviceRealTimeData {ps_key_list: ["<ps_id>_11_0_0"], point_id_list: ["83022", "83033"], device_type:
  11}`` → ``p83022`` "Daily Yield of Plant" (Wh) and ``p83033`` "Plant Power" (W) (units from the portal's
  plant point table), ``device_time`` plant-local (``YYYYMMDDhhmmss``, 5-minute steps). The production
  between two polls is the rise of the day's yield (``inverters.production``; it restarts at the plant's
  local midnight), the first poll a baseline only. A plant without a zone is read in UTC (its midnight then
  is UTC's);
* **the days before**: the minute history ``getDevicePointMinuteDataList`` (the portal's example recorded in
  ``getDevicePointMinuteDataList.json``): ``result_data{"<ps_key>": [{time_stamp (plant-local), "p<id>":
  "<value>"}]}``. The portal says it has no data of the current day, a window of at most 3 hours, devices of
  one type a call. Per poll one window from the history's own cursor (``state["pvh:<ps_id>"]``, never older
  than the site series' 24 hours) up to the plant's last midnight: the plant's inverters (device type 1
  point 1, type 14 point 13112: daily (PV) yield, Wh) every 5 minutes; the rise between two samples 5
  minutes apart of one local day is that interval's energy, summed over the inverters. These intervals
  replace what the counter stored for those minutes (the poll job's UPSERT), so a missed poll is filled the
  next day. A refused, throttled or failed history call raises nothing: the counter's values stand and the
  window is asked again at a later poll. Every history call is spent in the account's quota ledger before
  it is sent (``self.ledger``, saved by the poll job), and none is sent when the ledger has no call left:
  a cloud refusing the history at every poll cannot push the account over its 60 calls an hour.

The well-used client ``pysolarcloud`` uses the newer ``/openapi/platform/...`` paths; this adapter uses the
``/openapi/...`` generation whose examples are recorded.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pipelet_app.domain import quota
from pipelet_app.domain.site_energy import MAX_LATE
from pipelet_app.inverters.base import (
    MAX_LIST_PAGES,
    BrandUnavailable,
    CounterSnapshot,
    CredentialField,
    InvalidCredentials,
    InverterAdapter,
    ProductionInterval,
    System,
    Throttled,
    Wallbox,
    accumulate_session_counter,
    kwh_to_wh,
    optional_float,
    parse_time,
    seconds_until_next_month,
    zone,
)
from pipelet_app.inverters.production import counter_intervals

PAGE = 100
THROTTLE = {"E901": "too_frequent", "E998": "month", "E999": "hour"}
TOKEN_INVALID = frozenset({"E00003", "E00004", "E912"})
APP_REFUSED = frozenset({"E900", "E911", "E00001"})
LIFETIME_POINTS = ("p_total_charge_energy", "total_charging_energy")  # assumed: no documented point
SESSION_POINTS = ("p_session_charge_energy", "charging_energy")  # assumed: no documented point
POWER_POINT = "33708"  # documented: charging power, kW
STATUS_POINT = "33716"  # documented: charging status code
CHARGER_DEVICE_TYPE = 51  # documented: Appendix 1 "Charger"
PLANT_DEVICE_TYPE = 11  # the plant's own ps_key "<ps_id>_11_0_0" (recorded example)
DAY_YIELD_POINT = "83022"  # documented: Daily Yield of Plant, Wh (recorded example)
PLANT_POWER_POINT = "83033"  # documented: Plant Power, W (recorded example)
#: the minute history's daily-yield point per device type (Wh since local midnight; the portal's point table)
HISTORY_YIELD_POINTS = {1: "1", 14: "13112"}
HISTORY_WINDOW = timedelta(hours=3)  # documented maximum of one minute-history call
HISTORY_STEP = timedelta(minutes=5)
HISTORY_DEVICES = 50  # documented maximum of ps_keys a call
CHARGER_STATUS = {
    "1": "idle",
    "2": "standby (plugged in)",
    "3": "charging",
    "4": "paused by the station",
    "5": "paused by the vehicle",
    "6": "complete",
    "7": "reserved",
    "8": "disabled",
    "9": "fault",
}
_CHARGER_WORDS = ("charger", "ienergycharger", "evse", "wallbox", "充电桩")


def _settings_value(name: str) -> str:
    from pipelet_app.settings import get_settings

    return getattr(get_settings(), name, None) or ""


class SungrowAdapter(InverterAdapter):
    brand = "sungrow"
    display_name = "Sungrow iSolarCloud"
    auth_kind = "password"
    credential_fields = (
        CredentialField("user_account", "iSolarCloud account (e-mail)"),
        CredentialField("user_password", "iSolarCloud password", secret=True),
    )
    secret_keys: ClassVar[frozenset[str]] = frozenset({"user_password", "access_key", "appkey", "token"})
    supports_production = True
    #: requests sent by this adapter (``_post``): a history call counts the ones it made in the ledger
    _requests = 0

    def _app(self, name: str) -> str:
        return str(self.credentials.get(name) or _settings_value(f"sungrow_{name}"))

    async def _post(self, path: str, payload: dict[str, Any], *, with_token: bool = True) -> tuple[str, Any]:
        body = {"appkey": self._app("appkey"), "lang": "_en_US", **payload}
        if with_token:
            body["token"] = self.credentials.get("token", "")
        self._requests += 1
        response = await self._send(
            "POST",
            f"/openapi/{path}",
            json=body,
            headers={"x-access-key": self._app("access_key"), "sys_code": "901"},
        )
        if response.status_code in (401, 403):
            raise InvalidCredentials(
                self.brand, "iSolarCloud refused this installation's app key (SUNGROW_APPKEY)"
            )
        if 400 <= response.status_code < 500:
            raise BrandUnavailable(
                self.brand, f"iSolarCloud answered {response.status_code}; will retry later"
            )
        answer = self._json(response)
        if not isinstance(answer, dict) or "result_code" not in answer:
            raise self._unknown_shape("iSolarCloud's answer lacks 'result_code'")
        code = str(answer["result_code"])
        if code in THROTTLE:
            raise Throttled(
                self.brand, "iSolarCloud's request limit is reached; polling pauses", self._wait(code)
            )
        if code in APP_REFUSED:
            raise InvalidCredentials(
                self.brand, "iSolarCloud refused this installation's app key (SUNGROW_APPKEY)"
            )
        return code, answer.get("result_data")

    def _wait(self, code: str) -> float:
        now = self.clock()
        if THROTTLE[code] == "month":
            return seconds_until_next_month(now)
        if THROTTLE[code] == "hour":
            return 3600.0 - (now.minute * 60 + now.second)
        return 60.0

    async def _login(self) -> None:
        code, data = await self._post(
            "login",
            {
                "user_account": self.credentials.get("user_account", ""),
                "user_password": self.credentials.get("user_password", ""),
            },
            with_token=False,
        )
        token = data.get("token") if isinstance(data, dict) else None
        if code != "1" or str(data.get("login_state", "1")) != "1" or not token:
            raise InvalidCredentials(self.brand, "iSolarCloud refused the account or password")
        self.credentials.update(token=token, user_id=data.get("user_id"))
        self.credentials_changed = True

    async def _call(self, path: str, payload: dict[str, Any]) -> Any:
        if not self.credentials.get("token"):
            await self._login()
        for attempt in (1, 2):
            code, data = await self._post(path, payload)
            if code in TOKEN_INVALID and attempt == 1:
                await self._login()
                continue
            if code != "1":
                raise self._fail(f"iSolarCloud answered result code {code}; will retry later")
            return data
        raise AssertionError("unreachable")

    async def test_credentials(self) -> None:
        await self._login()

    async def list_systems(self) -> list[System]:
        systems: list[System] = []
        page = 1
        for _ in range(MAX_LIST_PAGES):  # a cloud ignoring the page parameter must not loop us forever
            data = await self._call("getPowerStationList", {"curPage": page, "size": PAGE})
            rows = self._require(data, "pageList")
            systems.extend(
                System(
                    str(self._require(r, "ps_id")),
                    str(r.get("ps_name") or ""),
                    r.get("timezone") or r.get("time_zone"),
                )
                for r in rows
            )
            total = optional_float(data.get("rowCount"))
            if not rows or total is None or len(systems) >= total:
                return systems
            page += 1
        return systems

    async def list_wallboxes(self, system: System) -> list[Wallbox]:
        data = await self._call("getDeviceList", {"ps_id": system.system_id, "curPage": 1, "size": PAGE})
        boxes = []
        for device in self._require(data, "pageList"):
            label = f"{device.get('type_name', '')} {device.get('device_name', '')}".lower()
            is_charger = optional_float(device.get("device_type")) == CHARGER_DEVICE_TYPE
            if not is_charger and not any(w in label for w in _CHARGER_WORDS):
                continue
            ps_key = str(device.get("ps_key") or "")
            serial = str(device.get("device_sn") or ps_key)
            if ps_key:
                boxes.append(
                    Wallbox(
                        system.system_id,
                        serial,
                        ps_key,
                        str(device.get("device_name") or ""),
                        str(device.get("device_type")),
                        extra={"device_type": device.get("device_type")},
                    )
                )
        return boxes

    async def fetch_snapshot(self, system: System, wallbox: Wallbox) -> CounterSnapshot:
        data = await self._call(
            "getDeviceRealTimeData",
            {
                "ps_key_list": [wallbox.device_id],
                "point_id_list": [POWER_POINT, STATUS_POINT, LIFETIME_POINTS[0], SESSION_POINTS[0]],
                "device_type": wallbox.extra.get("device_type"),
            },
        )
        points = next(
            (
                entry.get("device_point") or {}
                for entry in self._require(data, "device_point_list")
                if str((entry.get("device_point") or {}).get("ps_key")) == wallbox.device_id
            ),
            None,
        )
        if points is None:
            raise self._fail("iSolarCloud sent no real-time data for this charger; will retry later")
        lifetime_kwh = optional_float(next((points[p] for p in LIFETIME_POINTS if p in points), None))
        if lifetime_kwh is not None:
            lifetime = kwh_to_wh(lifetime_kwh)
        else:
            session_kwh = optional_float(next((points[p] for p in SESSION_POINTS if p in points), None))
            if session_kwh is None:
                raise self._fail("iSolarCloud reports no charged-energy point for this charger; will retry")
            lifetime = accumulate_session_counter(
                self.state, f"session:{wallbox.device_id}", kwh_to_wh(session_kwh)
            )
        power_kw = optional_float(points.get(f"p{POWER_POINT}"))
        code = points.get(f"p{STATUS_POINT}")
        status = None if code in (None, "") else CHARGER_STATUS.get(str(code).split(".")[0], str(code))
        try:
            when = parse_time(points["device_time"], system.timezone)
        except (KeyError, ValueError):
            when = self.clock()
        power = None if power_kw is None else power_kw * 1000.0
        return CounterSnapshot(when, lifetime, power, status)

    async def fetch_production(self, system: System, since: datetime) -> list[ProductionInterval]:
        """Today's yield since the previous poll (one interval), and 5-minute intervals of the days before
        from the minute history (one window a poll)."""
        today = await self._counter_production(system, since)
        before = await self._minute_history(system, since)
        return sorted([*before, *today], key=lambda i: i.start_utc)

    async def _minute_history(self, system: System, since: datetime) -> list[ProductionInterval]:
        now = self.clock()
        tz = zone(system.timezone)
        midnight = datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tzinfo=tz)
        key = f"pvh:{system.system_id}"
        cursor = datetime.fromisoformat(self.state[key]) if self.state.get(key) else since
        start = max(cursor, now - MAX_LATE)
        start = start.replace(minute=start.minute // 5 * 5, second=0, microsecond=0)
        self.state[key] = start.isoformat()
        if start >= midnight:
            return []  # the history has no data of the plant's current day
        end = min(start + HISTORY_WINDOW - HISTORY_STEP, midnight)  # asked from one step before start
        try:
            intervals = await self._history_window(system, start, end)
        except (Throttled, BrandUnavailable, InvalidCredentials):
            return []  # refused (an app plan without it), throttled or failing: the counter's values stand
        self.state[key] = end.isoformat()
        return intervals

    async def _history_window(
        self, system: System, start: datetime, end: datetime
    ) -> list[ProductionInterval]:
        data = await self._history_call(
            "getDeviceList", {"ps_id": system.system_id, "curPage": 1, "size": PAGE}
        )
        by_type: dict[int, list[str]] = {}
        for device in self._require(data, "pageList"):
            kind = optional_float(device.get("device_type"))
            if kind in HISTORY_YIELD_POINTS and device.get("ps_key"):
                by_type.setdefault(int(kind), []).append(str(device["ps_key"]))
        tz = zone(system.timezone)
        energy: dict[datetime, float] = {}
        for kind, keys in sorted(by_type.items()):
            point = f"p{HISTORY_YIELD_POINTS[kind]}"
            data = await self._history_call(
                "getDevicePointMinuteDataList",
                {
                    "ps_key_list": keys[:HISTORY_DEVICES],
                    "points": point,
                    "start_time_stamp": (start - HISTORY_STEP).astimezone(tz).strftime("%Y%m%d%H%M%S"),
                    "end_time_stamp": end.astimezone(tz).strftime("%Y%m%d%H%M%S"),
                    "minute_interval": "5",
                },
            )
            for ps_key in keys[:HISTORY_DEVICES]:
                samples = []
                for sample in (data or {}).get(ps_key) or []:
                    value = optional_float(sample.get(point))
                    if value is None:  # a point without data is left out of the sample
                        continue
                    try:
                        samples.append(
                            (parse_time(self._require(sample, "time_stamp"), system.timezone), value)
                        )
                    except ValueError:
                        raise self._unknown_shape(
                            "a sample's time_stamp that is not YYYYMMDDhhmmss"
                        ) from None
                samples.sort()
                for (t0, wh0), (t1, wh1) in itertools.pairwise(samples):
                    same_day = t0.astimezone(tz).date() == t1.astimezone(tz).date()
                    if (
                        t1 - t0 == HISTORY_STEP
                        and same_day
                        and wh1 >= wh0
                        and start - HISTORY_STEP <= t0
                        and t1 <= end
                    ):
                        energy[t0] = energy.get(t0, 0.0) + wh1 - wh0
        hours = HISTORY_STEP.total_seconds() / 3600
        return [ProductionInterval(t, t + HISTORY_STEP, wh / hours) for t, wh in sorted(energy.items())]

    async def _history_call(self, path: str, payload: dict[str, Any]) -> Any:
        """A history call, spent in the account's ledger before it is sent (a refused one costs all the
        same, and a refused window is asked again every poll); Throttled when the ledger has no call left,
        so a refusing cloud can never push the account over its quota."""
        account_quota, now = quota.quota_for(self.brand), self.clock()
        if not quota.can_spend(self.ledger, account_quota, now):
            raise Throttled(self.brand, "iSolarCloud's request quota has no call left for the history", 60.0)
        self.ledger = quota.spend(self.ledger, account_quota, now)
        sent = self._requests
        try:
            return await self._call(path, payload)
        finally:  # a renewed token costs a login and the call again: those count too
            if self._requests - sent > 1:
                self.ledger = quota.spend(self.ledger, account_quota, now, n=self._requests - sent - 1)

    async def _counter_production(self, system: System, since: datetime) -> list[ProductionInterval]:
        """The plant's yield since the previous poll (the rise of its daily yield), as one interval."""
        ps_key = f"{system.system_id}_{PLANT_DEVICE_TYPE}_0_0"
        data = await self._call(
            "getDeviceRealTimeData",
            {
                "ps_key_list": [ps_key],
                "point_id_list": [DAY_YIELD_POINT, PLANT_POWER_POINT],
                "device_type": PLANT_DEVICE_TYPE,
            },
        )
        points = next(
            (
                entry.get("device_point") or {}
                for entry in self._require(data, "device_point_list")
                if str((entry.get("device_point") or {}).get("ps_key")) == ps_key
            ),
            None,
        )
        if points is None:
            raise self._fail("iSolarCloud sent no real-time data for this plant; will retry later")
        day_wh = optional_float(points.get(f"p{DAY_YIELD_POINT}"))
        if day_wh is None:
            raise self._fail("iSolarCloud reports no daily yield for this plant now; will retry later")
        try:
            when = parse_time(self._require(points, "device_time"), system.timezone)
        except ValueError:
            raise self._unknown_shape("a plant's device_time that is not YYYYMMDDhhmmss") from None
        tz = zone(system.timezone)
        midnight = datetime.combine(when.astimezone(tz).date(), datetime.min.time(), tzinfo=tz)
        intervals = counter_intervals(
            self.state, f"pv:{system.system_id}", when, day_wh, period_start=midnight.astimezone(when.tzinfo)
        )
        return [i for i in intervals if i.end_utc > since]
