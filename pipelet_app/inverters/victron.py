"""Victron VRM API v2: EV Charging Station energy per interval, integrated into a running counter.

Auth: an access token the owner creates in VRM (``X-Authorization: Token <token>``, preferred: it never
expires and needs no password), or user name and password (``POST /auth/login`` → JWT, sent as
``X-Authorization: Bearer``; renewed once on a 401).

VRM has no lifetime counter for the EVCS over HTTP (the GX D-Bus ``/Ac/Energy/Forward`` is local only), so the
snapshot reads ``/installations/{id}/stats?type=evcs`` (``records.evE``: ``[timestamp ms, kWh]`` per
15-minute interval) since the last integrated interval and adds complete intervals to a running total in
``state``. The interval still in progress is skipped until it is complete, so nothing is counted twice.

Assumptions in one place: chargers are devices of ``/system-overview`` whose name or product mentions
"EV Charging Station"/"EVCS"; the stats are per installation (one EVCS per installation); limits are not
published (429 with ``Retry-After`` is honoured; 15 min otherwise).

PV production (a site's source, ``fetch_production``):
``GET /installations/{id}/stats?type=kwh&interval=15mins&start&end`` (seconds) →
``{success, records: {<flow>: [[ms, kWh], ...] | false}, totals}``. The energy flows are two-letter codes,
source then sink: PV to consumers ``Pc``, to battery ``Pb``, to grid ``Pg`` (and ``Gc``, ``Gb``, ``Bc``,
``Bg``); PV production is ``Pc + Pb + Pg`` per interval (kWh in 15 min, mean W = kWh x 4000). A flow without
data is ``false`` (the official API schema). The row timestamp names the interval's start (as ``evE``); the
interval in progress is skipped. Recorded: Victron's own client's README shows a stats answer with a ``Pc``
series, ``false`` flows and ``totals`` (``stats_consumption_full.json``); the ``kwh`` type's flow codes are
documented by public clients, not by a recorded ``kwh`` answer (SOURCE.md).

Recorded answers (installations, a stats envelope) and what no public example shows (``evE``,
``system-overview``): ``tests/fixtures/vendors/victron/SOURCE.md``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pipelet_app.inverters.base import (
    BrandUnavailable,
    CounterSnapshot,
    CredentialField,
    InvalidCredentials,
    InverterAdapter,
    ProductionInterval,
    System,
    Throttled,
    Wallbox,
    integrate_intervals,
    kwh_to_wh,
    optional_float,
)

API = "/v2"
INTERVAL = timedelta(minutes=15)
FIRST_LOOKBACK = timedelta(days=1)
MAX_LOOKBACK = timedelta(days=7)
_EVCS = ("ev charging station", "evcs", "ev charger")
PV_FLOWS = ("Pc", "Pb", "Pg")  # PV to consumers, battery, grid (kWh per interval)


class VictronAdapter(InverterAdapter):
    brand = "victron"
    display_name = "Victron VRM"
    auth_kind = "api_key"
    credential_fields = (
        CredentialField(
            "access_token",
            "VRM access token",
            secret=True,
            required=False,
            help="VRM → Preferences → Integrations → Access tokens (or enter user name and password)",
        ),
        CredentialField("username", "VRM user (e-mail)", required=False),
        CredentialField("password", "VRM password", secret=True, required=False),
    )
    secret_keys: ClassVar[frozenset[str]] = frozenset({"access_token", "password", "jwt"})
    supports_production = True

    async def _login(self) -> None:
        response = await self._send(
            "POST",
            f"{API}/auth/login",
            json={
                "username": self.credentials.get("username", ""),
                "password": self.credentials.get("password", ""),
            },
        )
        if response.status_code in (400, 401, 403):
            raise InvalidCredentials(self.brand, "VRM refused the user name or password")
        self._raise_throttle(response)
        body = self._json(response)
        self.credentials.update(jwt=self._require(body, "token"), id_user=body.get("idUser"))
        self.credentials_changed = True

    def _header(self) -> str:
        if self.credentials.get("access_token"):
            return f"Token {self.credentials['access_token']}"
        return f"Bearer {self.credentials.get('jwt', '')}"

    def _raise_throttle(self, response: Any) -> None:
        if response.status_code == 429:
            raise Throttled(
                self.brand, "VRM asks to slow down; polling pauses", self.retry_after_header(response, 900)
            )

    async def _get(self, path: str, **params: Any) -> Any:
        uses_password = not self.credentials.get("access_token")
        if uses_password and not self.credentials.get("jwt"):
            await self._login()
        for attempt in (1, 2):
            response = await self._send(
                "GET", f"{API}{path}", params=params, headers={"X-Authorization": self._header()}
            )
            if response.status_code == 401 and uses_password and attempt == 1:
                await self._login()
                continue
            if response.status_code in (401, 403):
                raise InvalidCredentials(
                    self.brand,
                    "VRM refused the access token; create a new one under Preferences → Integrations",
                )
            self._raise_throttle(response)
            if 400 <= response.status_code < 500:
                raise BrandUnavailable(self.brand, f"VRM answered {response.status_code}; will retry later")
            body = self._json(response)
            if not isinstance(body, dict) or "success" not in body:
                raise self._unknown_shape("VRM's answer lacks 'success'")
            if body.get("success") is not True:
                raise BrandUnavailable(self.brand, "VRM's answer is not marked successful; will retry later")
            return body
        raise AssertionError("unreachable")

    async def _user_id(self) -> str:
        if not self.credentials.get("access_token") and not self.credentials.get("jwt"):
            await self._login()  # its answer names the user: saves a request
        if self.credentials.get("id_user"):
            return str(self.credentials["id_user"])
        body = await self._get("/users/me")
        return str(self._require(body, "user", "id"))

    async def test_credentials(self) -> None:
        await self._user_id()

    async def list_systems(self) -> list[System]:
        body = await self._get(f"/users/{await self._user_id()}/installations")
        return [
            System(str(self._require(r, "idSite")), str(r.get("name") or ""), r.get("timezone"))
            for r in self._require(body, "records")
        ]

    async def list_wallboxes(self, system: System) -> list[Wallbox]:
        body = await self._get(f"/installations/{system.system_id}/system-overview")
        boxes = []
        for device in self._require(body, "records", "devices"):
            label = f"{device.get('name', '')} {device.get('productName', '')}".lower()
            if not any(t in label for t in _EVCS):
                continue
            instance = str(device.get("instance", "0"))
            serial = str(device.get("serial") or device.get("identifier") or f"{system.system_id}-{instance}")
            boxes.append(
                Wallbox(
                    system.system_id,
                    serial,
                    instance,
                    str(device.get("name") or ""),
                    device.get("productName"),
                )
            )
        return boxes

    async def fetch_snapshot(self, system: System, wallbox: Wallbox) -> CounterSnapshot:
        key = f"evE:{system.system_id}:{wallbox.device_id}"
        now = self.clock()
        last = (self.state.get(key) or {}).get("last_end")
        since = datetime.fromisoformat(last) - INTERVAL if last else now - FIRST_LOOKBACK
        since = max(since, now - MAX_LOOKBACK)
        body = await self._get(
            f"/installations/{system.system_id}/stats",
            type="evcs",
            interval="15mins",
            start=int(since.timestamp()),
            end=int(now.timestamp()),
        )
        records = self._require(body, "records")
        rows = records.get("evE") if isinstance(records, dict) else None
        if rows is None:
            raise BrandUnavailable(self.brand, "VRM's stats lack 'evE' for this charger; will retry later")
        intervals = []
        for row in rows:
            if not isinstance(row, list | tuple) or len(row) < 2:
                raise self._unknown_shape("VRM sent a malformed evE row")
            start_ms, kwh = optional_float(row[0]), optional_float(row[1])
            if start_ms is None or kwh is None:
                continue
            end = datetime.fromtimestamp(start_ms / 1000, UTC) + INTERVAL
            if end <= now:  # the interval in progress is counted once it is complete
                intervals.append((end, kwh_to_wh(kwh)))
        total, newest = integrate_intervals(self.state, key, intervals)
        power = None
        if intervals and newest is not None and now - newest <= 2 * INTERVAL:
            power = max(intervals)[1] * 3600.0 / INTERVAL.total_seconds()
        return CounterSnapshot(time_utc=newest or now, lifetime_wh=total, power_w=power)

    async def fetch_production(self, system: System, since: datetime) -> list[ProductionInterval]:
        """The installation's PV energy per complete quarter hour after ``since`` (at most a week back)."""
        now = self.clock()
        start = max(since - INTERVAL, now - MAX_LOOKBACK)
        body = await self._get(
            f"/installations/{system.system_id}/stats",
            type="kwh",
            interval="15mins",
            start=int(start.timestamp()),
            end=int(now.timestamp()),
        )
        records = self._require(body, "records")
        if not isinstance(records, dict):
            raise self._unknown_shape("VRM's kwh stats 'records' is not an object")
        energy: dict[datetime, float] = {}
        for flow in PV_FLOWS:
            rows = records.get(flow)
            if rows is None or rows is False:
                continue  # no such flow at this installation (false: "no data in the timeframe")
            if not isinstance(rows, list):
                raise self._unknown_shape(f"VRM's '{flow}' series is neither a list nor false")
            for row in rows:
                if not isinstance(row, list | tuple) or len(row) < 2:
                    raise self._unknown_shape("VRM sent a malformed stats row")
                start_ms, kwh = optional_float(row[0]), optional_float(row[1])
                if start_ms is None or kwh is None:
                    continue
                begin = datetime.fromtimestamp(start_ms / 1000, UTC)
                energy[begin] = energy.get(begin, 0.0) + max(0.0, kwh_to_wh(kwh))
        hours = INTERVAL.total_seconds() / 3600.0
        return [
            ProductionInterval(begin, begin + INTERVAL, wh / hours)
            for begin, wh in sorted(energy.items())
            if since < begin + INTERVAL <= now
        ]
