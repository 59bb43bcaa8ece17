"""Huawei FusionSolar Northbound API (``/thirdData``): Huawei Smart Charger via real-time device KPIs.

Auth: ``POST /login {userName, systemCode}`` answers an ``xsrf-token`` header valid 30 minutes. Huawei
allows one session per account (a second login kills the first) and 5 logins per 10 minutes, so this module:

* reuses the token: kept per account in-process and in ``credentials`` (``xsrf_token``, ``token_at``) so the
  next poll, in any process, reuses it instead of logging in;
* serializes every call per account with a lock, so two polls of one account never race two logins;
* renews the token five minutes before its 30 minutes are up, and re-logs in once on ``failCode 305``
  (session killed elsewhere);
* never logs in a sixth time in 10 minutes: it raises Throttled instead. The logins are counted in
  ``inverters.login_ledger`` (the database, keyed by a hash of address and user name), spent before each
  login, so the limit holds for a restarted worker, a second worker and the connect form's test call alike.

Every answer is HTTP 200 with ``{"success", "failCode", "message", "data"}``: 305 = log in again, 407 = too
frequent (real-time KPIs are allowed once per device type per 5 minutes).

Assumptions in one place (unofficial, from the FusionSolar web API): charger device type ``60080``
(connector ``60081``); KPI signals ``10008`` total energy charged (kWh), ``10035`` session energy (kWh),
``10013`` power (kW), ``10004`` working status. Name aliases are accepted too.

Recorded shapes (``tests/fixtures/vendors/huawei/``, from the Postman collection of a well-used Home
Assistant client): the plant list ``data{list[]{plantCode, plantName, ...}, pageCount, pageNo, pageSize,
total}``; the device list ``data[]{id, devName, devTypeId, esnCode, invType, ...}`` with ``params``; real-time
KPIs ``data[]{devId, dataItemMap, sn}`` with **no** ``collectTime`` — the answer's ``params.currentTime``
(ms) is the reading's time. A device ``id`` may be ``0`` (it is a number, not a truthy string).

PV production (a site's source, ``fetch_production``), two reads:

* the **hourly history** ``getKpiStationHour {stationCodes, collectTime}`` (shape recorded in
  ``getKpiStationHour.json``, from a public client's test): ``data[]{collectTime (ms, the hour's start),
  stationCode, dataItemMap{inverter_power (kWh in that hour), ...}}`` for the plant's day. Every complete
  hour it lists is a production interval, so a missed poll is filled with the hour's real energy. Huawei
  allows ceil(plants/100) + 24 calls a day and one a minute: the adapter asks only when a complete hour it
  has not read exists, and spends every call in the link's quota ledger (``HISTORY_QUOTA``, 24 a day, 1 a
  minute; ``self.ledger``, stored by the poll job, so a restarted poller keeps the day's count), joined
  with the calls this process made for the same account through other links; a 407, a refusal or an
  exhausted ledger skips the history for this poll (nothing raised: the counter below still answers). The
  hours read are the state's cursor (``pvh:<plant>``, stored with the link), so a restarted poller asks
  from there;
* the **live counter**: the plant's inverters (``devTypeId`` 38 residential, 1 string inverter; recorded and
  documented in the client's device-type table) from ``getDevList``, then one ``getDevRealKpi {devIds:
  "<id>,<id>", devTypeId}`` per inverter type: ``dataItemMap.total_cap`` is the inverter's lifetime yield in
  kWh (recorded: 27152.37), dated by ``params.currentTime`` (ms). The production between two polls is the
  rise of the summed ``total_cap`` (``inverters.production``), the first poll a baseline only. It is kept
  only outside the hours the history gave (cut there, at its mean power), whole when the history is refused,
  and for an hour the history lists without a value (``null``).

Both land on the same 1-minute rows (the poll job's UPSERT): an hour read from the history replaces what the
counter difference stored for its minutes, never adds to it.

Not in any public source: a charger. Neither the recorded answers nor the client's device-type table have
an EV charger, so the charger type and its ``dataItemMap`` signal ids above remain assumptions.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pipelet_app.domain import quota
from pipelet_app.inverters import login_ledger
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
)
from pipelet_app.inverters.production import counter_intervals

PREFIX = "/thirdData"
TOKEN_VALID_S = 30 * 60
TOKEN_RENEW_S = 25 * 60
FAIL_RELOGIN = 305
FAIL_TOO_FREQUENT = 407
CHARGER_TYPES = frozenset({60080})
INVERTER_TYPES = (38, 1)  # residential inverter (recorded), string inverter (client's device-type table)
PV_LIFETIME_KEY = "total_cap"  # kWh, recorded in getDevRealKpi_inverter.json
LIFETIME_KEYS = ("10008", "total_energy_charged", "total_charge_energy")
SESSION_KEYS = ("10035", "session_energy", "charge_energy")
POWER_KEYS = ("10013", "charge_power", "active_power")
STATUS_KEYS = ("10004", "work_status", "charger_status")
REALTIME_RETRY_S = 300.0
LOGIN_RETRY_S = 600.0
HOUR = timedelta(hours=1)
HOURLY_YIELD_KEY = "inverter_power"  # kWh in the hour (assumed unit, see SOURCE.md)
#: the hourly plant data's documented limits (ceil(plants/100) + 24 a day, one a minute), one call to spare:
#: the HISTORY windows of the brand's quota
HISTORY_QUOTA = quota.quota_for("huawei")


@dataclass
class _Account:
    token: str | None = None
    token_at: float = 0.0
    history: quota.Ledger = field(default_factory=dict)
    locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    def lock(self) -> asyncio.Lock:
        loop = id(asyncio.get_running_loop())
        if loop not in self.locks:
            self.locks[loop] = asyncio.Lock()
        return self.locks[loop]


# Keyed by the whole credential, not only the user name: a cached session must never vouch for a wrong
# system code (the connect form's test call would otherwise accept any code for a known user).
_ACCOUNTS: dict[tuple[str, str, str], _Account] = {}
_LOGIN_QUOTA = quota.quota_for("huawei")


def reset_sessions() -> None:
    """Forget every cached session (tests; a process restart does the same). The logins stay counted: they
    are in ``login_ledger``, which outlives the process."""
    _ACCOUNTS.clear()


def _first(mapping: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((mapping[k] for k in keys if mapping.get(k) not in (None, "", "N/A")), None)


class HuaweiAdapter(InverterAdapter):
    brand = "huawei"
    display_name = "Huawei FusionSolar"
    auth_kind = "password"
    credential_fields = (
        CredentialField(
            "userName", "Northbound API user", help="FusionSolar → System → Company Management → Northbound"
        ),
        CredentialField("systemCode", "System code (password)", secret=True),
    )
    secret_keys: ClassVar[frozenset[str]] = frozenset({"systemCode", "xsrf_token"})
    supports_production = True

    @property
    def _account(self) -> _Account:
        code = hashlib.sha256(str(self.credentials.get("systemCode", "")).encode()).hexdigest()
        key = (self.base_url, str(self.credentials.get("userName", "")), code)
        account = _ACCOUNTS.setdefault(key, _Account())
        stored_at = optional_float(self.credentials.get("token_at")) or 0.0
        if self.credentials.get("xsrf_token") and stored_at > account.token_at:
            account.token, account.token_at = self.credentials["xsrf_token"], stored_at
        return account

    def _token_fresh(self, account: _Account) -> bool:
        return account.token is not None and self.clock().timestamp() - account.token_at < TOKEN_RENEW_S

    async def _login(self, account: _Account) -> None:
        now = self.clock()
        key = login_ledger.account_key(self.brand, self.base_url, str(self.credentials.get("userName", "")))
        wait = await asyncio.to_thread(login_ledger.current().reserve, key, self.brand, _LOGIN_QUOTA, now)
        if wait is not None:  # spent by this or another worker, before or since a restart
            raise Throttled(self.brand, "FusionSolar allows 5 logins per 10 minutes; polling pauses", wait)
        response = await self._send(
            "POST",
            f"{PREFIX}/login",
            json={
                "userName": self.credentials.get("userName", ""),
                "systemCode": self.credentials.get("systemCode", ""),
            },
        )
        body = self._json(response)
        if not isinstance(body, dict):
            raise self._fail("FusionSolar sent an unreadable login answer; will retry later")
        if body.get("failCode") == FAIL_TOO_FREQUENT:
            raise Throttled(
                self.brand, "FusionSolar refuses logins this often; polling pauses", LOGIN_RETRY_S
            )
        if not body.get("success"):
            raise InvalidCredentials(
                self.brand,
                "FusionSolar refused the Northbound user or system code; check both under "
                "System → Company Management → Northbound Management",
            )
        token = response.headers.get("xsrf-token") or response.cookies.get("XSRF-TOKEN")
        if not token:
            raise self._fail("FusionSolar's login answer has no xsrf-token; will retry later")
        account.token, account.token_at = token, now.timestamp()
        self.credentials.update(xsrf_token=token, token_at=account.token_at)
        self.credentials_changed = True

    async def _call(self, name: str, payload: dict[str, Any], *, realtime: bool = False) -> Any:
        """The ``data`` of a successful answer."""
        return (await self._call_body(name, payload, realtime=realtime)).get("data")

    async def _call_body(
        self, name: str, payload: dict[str, Any], *, realtime: bool = False
    ) -> dict[str, Any]:
        """The whole successful answer: ``data`` and ``params`` (real-time KPIs are dated by ``params``)."""
        account = self._account
        async with account.lock():
            for attempt in (1, 2):
                if not self._token_fresh(account):
                    await self._login(account)
                response = await self._send(
                    "POST", f"{PREFIX}/{name}", json=payload, headers={"XSRF-TOKEN": account.token or ""}
                )
                body = self._json(response)
                if not isinstance(body, dict) or ("failCode" not in body and "success" not in body):
                    raise self._unknown_shape("FusionSolar's answer lacks 'success'/'failCode'")
                code = body.get("failCode")
                if code == FAIL_RELOGIN or response.status_code == 401:
                    account.token = None
                    if attempt == 1:
                        continue
                    raise self._fail(
                        "FusionSolar keeps ending the session (another login?); will retry later"
                    )
                if code == FAIL_TOO_FREQUENT:
                    wait = REALTIME_RETRY_S if realtime else 60.0
                    raise Throttled(self.brand, "FusionSolar says the data was requested too often", wait)
                if not body.get("success"):
                    raise self._fail(f"FusionSolar answered failCode {code}; will retry later")
                return body
        raise AssertionError("unreachable")

    async def test_credentials(self) -> None:
        account = self._account
        async with account.lock():
            if not self._token_fresh(account):
                await self._login(account)

    async def list_systems(self) -> list[System]:
        systems: list[System] = []
        page = 1
        for _ in range(MAX_LIST_PAGES):  # a cloud ignoring the page parameter must not loop us forever
            data = await self._call("stations", {"pageNo": page})
            items = self._require(data, "list")
            for item in items:
                code = item.get("plantCode") or item.get("stationCode")
                if not code:
                    raise self._fail("a FusionSolar plant has no plantCode; will retry later")
                systems.append(System(str(code), str(item.get("plantName") or item.get("stationName") or "")))
            pages = optional_float(data.get("pageCount")) or 1
            if not items or page >= pages:
                return systems
            page += 1
        return systems

    async def list_wallboxes(self, system: System) -> list[Wallbox]:
        data = await self._call("getDevList", {"stationCodes": system.system_id})
        boxes = []
        for device in data or []:
            if optional_float(device.get("devTypeId")) not in CHARGER_TYPES:
                continue
            if device.get("id") in (None, ""):  # a numeric id, and 0 is a valid one
                continue
            device_id = str(device["id"])
            serial = str(device.get("esnCode") or device.get("devDn") or device_id)
            name = str(device.get("devName") or "")
            boxes.append(Wallbox(system.system_id, serial, device_id, name, "60080"))
        return boxes

    async def fetch_snapshot(self, system: System, wallbox: Wallbox) -> CounterSnapshot:
        answer = await self._call_body(
            "getDevRealKpi", {"devIds": wallbox.device_id, "devTypeId": 60080}, realtime=True
        )
        data = answer.get("data")
        entry = next((d for d in data or [] if str(d.get("devId")) == wallbox.device_id), None)
        items = self._require(entry, "dataItemMap")
        lifetime_kwh = optional_float(_first(items, LIFETIME_KEYS))
        if lifetime_kwh is not None:
            lifetime = kwh_to_wh(lifetime_kwh)
        else:
            session_kwh = optional_float(_first(items, SESSION_KEYS))
            if session_kwh is None:
                raise self._fail("FusionSolar reports no charged-energy signal for this charger; will retry")
            lifetime = accumulate_session_counter(
                self.state, f"session:{wallbox.device_id}", kwh_to_wh(session_kwh)
            )
        power_kw = optional_float(_first(items, POWER_KEYS))
        status = _first(items, STATUS_KEYS)
        params = answer.get("params") if isinstance(answer.get("params"), dict) else {}
        collect = optional_float((entry or {}).get("collectTime"))
        collect = collect or optional_float(params.get("currentTime"))
        when = datetime.fromtimestamp(collect / 1000, UTC) if collect else self.clock()
        return CounterSnapshot(
            time_utc=when,
            lifetime_wh=lifetime,
            power_w=None if power_kw is None else power_kw * 1000.0,
            status=None if status is None else str(status),
        )

    async def fetch_production(self, system: System, since: datetime) -> list[ProductionInterval]:
        """Complete hours from the hourly history, then the live counter's span after the newest of them."""
        counter = await self._counter_production(system, since)
        hours = await self._hourly_history(system, since)
        return sorted([*hours, *_outside(counter, hours)], key=lambda i: i.start_utc)

    async def _hourly_history(self, system: System, since: datetime) -> list[ProductionInterval]:
        """The plant's complete hours ending after ``since`` from ``getKpiStationHour``; [] when there is no
        unread complete hour, when the ledger has no call left, or when Huawei refuses or throttles the call
        (the counter difference then stands alone)."""
        now = self.clock()
        key = f"pvh:{system.system_id}"
        through = datetime.fromisoformat(self.state[key]) if self.state.get(key) else None
        first = _floor_hour(since) if through is None else max(through, _floor_hour(since))
        if first + HOUR > now:
            return []  # no complete hour left to read
        account = self._account
        # the link's stored ledger (a restarted poller still knows today's calls) joined with what this
        # process spent on the account through other links (one account's limit, however many sites)
        spent = sorted(set(account.history.get(quota.HISTORY, [])) | set(self.ledger.get(quota.HISTORY, [])))
        ledger = {**self.ledger, quota.HISTORY: spent}
        if not quota.can_spend(ledger, HISTORY_QUOTA, now, quota.HISTORY):
            return []
        self.ledger = quota.spend(ledger, HISTORY_QUOTA, now, quota.HISTORY)
        account.history = {quota.HISTORY: self.ledger[quota.HISTORY]}
        payload = {"stationCodes": system.system_id, "collectTime": int(first.timestamp() * 1000)}
        try:
            answer = await self._call_body("getKpiStationHour", payload)
        except (Throttled, BrandUnavailable):
            return []
        hours, newest = [], through
        for entry in answer.get("data") or []:
            if str(entry.get("stationCode")) != system.system_id:
                continue
            try:
                start = parse_time(self._require(entry, "collectTime"))
            except ValueError:
                raise self._unknown_shape("an hour's collectTime that is not epoch ms") from None
            if start + HOUR > now:
                continue  # the running hour: read again once it is complete
            newest = start + HOUR if newest is None else max(newest, start + HOUR)
            kwh = optional_float(self._require(entry, "dataItemMap").get(HOURLY_YIELD_KEY))
            if kwh is not None and start + HOUR > since:  # null: no value for that hour (night)
                hours.append(ProductionInterval(start, start + HOUR, kwh_to_wh(kwh)))  # Wh in 1 h = W
        if newest is not None:
            self.state[key] = newest.isoformat()
        return hours

    async def _counter_production(self, system: System, since: datetime) -> list[ProductionInterval]:
        """The inverters' yield since the previous poll (their summed ``total_cap``, kWh), as one interval."""
        devices = await self._call("getDevList", {"stationCodes": system.system_id})
        by_type: dict[int, list[str]] = {}
        for device in devices or []:
            kind = optional_float(device.get("devTypeId"))
            if kind in INVERTER_TYPES and device.get("id") not in (None, ""):
                by_type.setdefault(int(kind), []).append(str(device["id"]))
        if not by_type:
            raise self._fail("FusionSolar lists no inverter in this plant; will retry later")
        total_kwh, stamps = 0.0, []
        for kind, ids in sorted(by_type.items()):
            answer = await self._call_body(
                "getDevRealKpi", {"devIds": ",".join(ids), "devTypeId": kind}, realtime=True
            )
            for entry in answer.get("data") or []:
                if str(entry.get("devId")) not in ids:
                    continue
                value = optional_float(_first(self._require(entry, "dataItemMap"), (PV_LIFETIME_KEY,)))
                if value is None:  # "N/A" or null: an inverter without its yield now gives no interval
                    raise self._fail("FusionSolar reports no total yield for an inverter now; will retry")
                total_kwh += value
            params = answer.get("params") if isinstance(answer.get("params"), dict) else {}
            stamp = optional_float(params.get("currentTime"))
            stamps.append(datetime.fromtimestamp(stamp / 1000, UTC) if stamp else self.clock())
        when = min(stamps)
        intervals = counter_intervals(self.state, f"pv:{system.system_id}", when, kwh_to_wh(total_kwh))
        return [i for i in intervals if i.end_utc > since and i.end_utc - i.start_utc > timedelta(0)]


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _outside(
    intervals: list[ProductionInterval], hours: list[ProductionInterval]
) -> list[ProductionInterval]:
    """The parts of the counter's ``intervals`` outside the history's ``hours``. A span cut there keeps its
    mean power (how its energy split inside the span is unknown). A counter span starts at the previous
    poll's reading, after every hour an earlier poll read, so only this poll's hours can overlap it."""
    kept = []
    for interval in intervals:
        pieces = [(interval.start_utc, interval.end_utc)]
        for hour in hours:
            pieces = [
                piece
                for start, end in pieces
                for piece in ((start, min(end, hour.start_utc)), (max(start, hour.end_utc), end))
                if piece[0] < piece[1]
            ]
        kept += [ProductionInterval(start, end, interval.power_w) for start, end in pieces]
    return kept


__all__ = ["HuaweiAdapter", "reset_sessions"]
