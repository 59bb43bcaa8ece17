"""SolarEdge Monitoring API v1: API key per account or site, 300 requests a day.

Why v1: it is the API every SolarEdge owner can create a key for in the monitoring portal; v2 needs an
installer account key. The key travels as ``?api_key=`` on every request, so URLs are never logged or put into
messages.

The public API has no EV-charger endpoint. Assumptions in one place (unofficial, tolerant):

* chargers appear in ``/site/{id}/inventory`` under a list whose key mentions "ev" or "charger"
  (``evChargers`` in the portal's answers), each with ``SN``/``serialNumber`` and ``name``;
* the charger's import is metered and shows in ``/site/{id}/meters`` (lifetime meter readings per quarter
  hour) as a meter whose ``connectedSolaredgeDeviceSN`` is the charger serial or whose ``meterType`` says
  "ev"; the newest non-null reading is the lifetime counter, in the answer's ``unit`` (Wh or kWh);
* reading times are site-local ``YYYY-MM-DD hh:mm:ss`` in the site's ``location.timeZone``.

No power or status in v1. One request per snapshot keeps a site under 300/day at a 5-minute pace.

PV production (a site's source, ``fetch_production``): ``GET /site/{id}/power?startTime&endTime`` →
``{power: {timeUnit: "QUARTER_OF_AN_HOUR", unit: "W", measuredBy, values: [{date, value}]}}``, mean W per
quarter hour, ``null`` for no data (recorded in ``tests/fixtures/vendors/solaredge/power.json``). The
``date`` is read as the quarter's start in the site's zone (the API document gives pairs of date and
power; its examples begin at 00:00, so the first quarter of a day is named by its start). At most one
month per request. SolarEdge announced V1's retirement for 2026-11-03 (HTTP 410); an account still
answering V1 works here, a retired one shows the 410 as "answered 410" until a V2 adapter exists.

Recorded answers (sites list, meters) and what no public example shows: ``tests/fixtures/vendors/solaredge/``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, ClassVar

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
    optional_float,
    parse_time,
    zone,
)

PAGE = 100
THROTTLE_DEFAULT_S = 900.0
_EV_KEY = re.compile(r"ev|charger", re.IGNORECASE)
_LOCAL_FMT = "%Y-%m-%d %H:%M:%S"


class SolarEdgeAdapter(InverterAdapter):
    brand = "solaredge"
    display_name = "SolarEdge"
    auth_kind = "api_key"
    credential_fields = (
        CredentialField(
            "api_key",
            "API key",
            secret=True,
            help="Monitoring portal → Admin → Site access → API access: enable and copy the key",
        ),
    )
    secret_keys: ClassVar[frozenset[str]] = frozenset({"api_key"})
    supports_production = True

    async def _get(self, path: str, **params: Any) -> Any:
        response = await self._send(
            "GET", path, params={**params, "api_key": self.credentials.get("api_key", "")}
        )
        if response.status_code in (401, 403):
            raise InvalidCredentials(
                self.brand, "SolarEdge refused the API key; check it in the monitoring portal (Site access)"
            )
        if response.status_code == 429:
            raise Throttled(
                self.brand,
                "SolarEdge's daily request limit (300) is reached; polling pauses",
                self.retry_after_header(response, THROTTLE_DEFAULT_S),
            )
        if 400 <= response.status_code < 500:
            raise BrandUnavailable(self.brand, f"SolarEdge answered {response.status_code}; will retry later")
        return self._json(response)

    async def test_credentials(self) -> None:
        await self._get("/sites/list", size=1)

    async def list_systems(self) -> list[System]:
        systems: list[System] = []
        for _ in range(MAX_LIST_PAGES):  # a cloud ignoring the page parameter must not loop us forever
            body = await self._get("/sites/list", size=PAGE, startIndex=len(systems))
            sites = self._require(body, "sites")
            items = self._require(sites, "site")
            for site in items:
                location = site.get("location") or {}
                systems.append(
                    System(
                        str(self._require(site, "id")), str(site.get("name") or ""), location.get("timeZone")
                    )
                )
            count = optional_float(sites.get("count"))
            if not items or count is None or len(systems) >= count:
                return systems
        return systems

    async def list_wallboxes(self, system: System) -> list[Wallbox]:
        body = await self._get(f"/site/{system.system_id}/inventory")
        inventory = self._require(body, "Inventory")
        boxes = []
        for key, devices in inventory.items():
            if not _EV_KEY.search(key) or not isinstance(devices, list):
                continue
            for device in devices:
                serial = str(device.get("SN") or device.get("serialNumber") or "")
                if serial:
                    boxes.append(
                        Wallbox(
                            system.system_id,
                            serial,
                            serial,
                            str(device.get("name") or ""),
                            device.get("model"),
                        )
                    )
        return boxes

    async def fetch_snapshot(self, system: System, wallbox: Wallbox) -> CounterSnapshot:
        tz = zone(system.timezone)
        now_local = self.clock().astimezone(tz).replace(tzinfo=None)
        body = await self._get(
            f"/site/{system.system_id}/meters",
            timeUnit="QUARTER_OF_AN_HOUR",
            startTime=(now_local - timedelta(hours=2)).strftime(_LOCAL_FMT),
            endTime=now_local.strftime(_LOCAL_FMT),
        )
        details = self._require(body, "meterEnergyDetails")
        meters = self._require(details, "meters")
        meter = next(
            (m for m in meters if str(m.get("connectedSolaredgeDeviceSN") or "") == wallbox.serial), None
        ) or next((m for m in meters if _EV_KEY.search(str(m.get("meterType") or ""))), None)
        if meter is None:
            raise BrandUnavailable(
                self.brand, "SolarEdge lists no meter for this charger; check that its meter is commissioned"
            )
        readings = [v for v in meter.get("values") or [] if optional_float(v.get("value")) is not None]
        if not readings:
            raise BrandUnavailable(
                self.brand, "SolarEdge has no recent reading of the charger meter; will retry"
            )
        newest = max(readings, key=lambda v: str(v.get("date")))
        factor = 1000.0 if str(details.get("unit", "Wh")).lower() == "kwh" else 1.0
        try:
            when = parse_time(newest["date"], system.timezone)
        except (KeyError, ValueError):
            raise self._unknown_shape("a SolarEdge meter reading without a readable date") from None
        return CounterSnapshot(time_utc=when, lifetime_wh=float(newest["value"]) * factor)

    async def fetch_production(self, system: System, since: datetime) -> list[ProductionInterval]:
        """Quarter-hour mean production since ``since`` (at most a week back, one request)."""
        tz = zone(system.timezone)
        now = self.clock()
        start = max(since, now - timedelta(days=7))
        body = await self._get(
            f"/site/{system.system_id}/power",
            startTime=start.astimezone(tz).replace(tzinfo=None).strftime(_LOCAL_FMT),
            endTime=now.astimezone(tz).replace(tzinfo=None).strftime(_LOCAL_FMT),
        )
        power = self._require(body, "power")
        values = self._require(power, "values")
        if not isinstance(values, list):
            raise self._unknown_shape("'power.values' is not a list")
        unit = str(power.get("unit") or "W").strip().lower()
        factor = {"w": 1.0, "kw": 1000.0}.get(unit)
        if factor is None:
            raise self._unknown_shape("'power.unit' is neither W nor kW")
        out = []
        for item in values:
            watts = optional_float(item.get("value"))
            if watts is None:
                continue  # "null means there is no data for that time"
            try:
                begin = parse_time(self._require(item, "date"), system.timezone)
            except ValueError:
                raise self._unknown_shape("a SolarEdge power value without a readable date") from None
            end = begin + timedelta(minutes=15)
            if end <= now and end > since:
                out.append(ProductionInterval(begin, end, max(0.0, watts * factor)))
        return sorted(out, key=lambda interval: interval.start_utc)


__all__ = ["SolarEdgeAdapter"]
