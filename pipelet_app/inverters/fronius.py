"""Fronius Solar.web Query API (SWQAPI): Wattpilot chargers listed among a PV system's devices.

Auth is a key pair the owner creates in Solar.web (``AccessKeyId``/``AccessKeyValue`` headers). SWQAPI is paid
per data point, so a snapshot reads exactly two things: the charger's lifetime total (``aggrdata`` with
``period=total``) and its current flow (``flowdata``: power, status).

Assumptions in one place (channel names of EV chargers are not documented; tolerant):

* a charger is a device whose ``deviceType`` mentions "EVCharger"/"Wattpilot";
* the lifetime import is the first channel found among ``LIFETIME_CHANNELS`` (the Wattpilot's own field is
  ``eto``, Wh); when only a per-plug-in channel exists (Wattpilot ``wh``), it is accumulated into a running
  counter; each channel carries its ``unit`` (Wh or kWh);
* ``aggrdata``'s ``data`` is a list of periods for some accounts and a single object for others.

PV production (a site's source, ``fetch_production``): every active ``Inverter`` of the system's device list,
``GET /pvsystems/{id}/devices/{deviceId}/histdata?from&to&offset&limit`` →
``{pvSystemId, deviceId, data[{logDateTime, logDuration, channels[{channelName, channelType, unit, value}]}],
links{..., next, totalItemsCount}}`` (recorded by SolarNetwork's Fronius integration:
``tests/fixtures/vendors/fronius/histdata_inverter.json``). ``EnergyExported`` is the inverter's AC energy in
the interval (``unit`` Wh, kWh accepted), ``logDuration`` its length in seconds (300 recorded), and
``logDateTime`` is UTC (``Z``). Assumption: ``logDateTime`` names the interval's **end** (a record exists once
its interval is logged); the mean power is energy x 3600 / logDuration, summed over the inverters. At most
24 h per request (SolarNetwork's limit for this endpoint), paged with ``offset``/``limit``. A hybrid
inverter's ``EnergyExported`` includes what its battery gives back: such a site over-counts PV by that.

Documented structures and what no public example shows (Wattpilot channels, device ``aggrdata``):
``tests/fixtures/vendors/fronius/SOURCE.md``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    accumulate_session_counter,
    optional_float,
    parse_time,
)

PREFIX = "/swqapi"
PAGE = 100
LIFETIME_CHANNELS = ("EnergyChargedTotal", "EnergyCharged", "EnergyEVCharged", "EnergyImported", "eto")
SESSION_CHANNELS = ("EnergyChargedSession", "EnergySession", "wh")
POWER_CHANNELS = ("PowerCharging", "PowerEVCharging", "PowerEV", "nrg", "Power")
STATUS_CHANNELS = ("ChargingState", "EVChargingState", "car", "State")
_EV_TYPES = ("evcharger", "wattpilot", "ev charger")
PRODUCTION_CHANNEL = "EnergyExported"
HISTORY_PAGE = 500
MAX_HISTORY_SPAN = timedelta(hours=24)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _channels(data: Any) -> dict[str, dict[str, Any]]:
    if isinstance(data, list):
        data = data[-1] if data else {}
    channels = data.get("channels") if isinstance(data, dict) else None
    return {str(c.get("channelName")): c for c in channels or [] if isinstance(c, dict)}


def _wh(channel: dict[str, Any]) -> float | None:
    value = optional_float(channel.get("value"))
    if value is None:
        return None
    return value * 1000.0 if str(channel.get("unit", "Wh")).lower() == "kwh" else value


class FroniusAdapter(InverterAdapter):
    brand = "fronius"
    display_name = "Fronius Solar.web"
    auth_kind = "api_key"
    credential_fields = (
        CredentialField("access_key_id", "Access key ID", help="Solar.web → Settings → API access keys"),
        CredentialField("access_key_value", "Access key value", secret=True),
    )
    secret_keys: ClassVar[frozenset[str]] = frozenset({"access_key_value"})
    supports_production = True

    async def _get(self, path: str, **params: Any) -> Any:
        response = await self._send(
            "GET",
            f"{PREFIX}{path}",
            params=params,
            headers={
                "AccessKeyId": str(self.credentials.get("access_key_id", "")),
                "AccessKeyValue": str(self.credentials.get("access_key_value", "")),
                "Accept": "application/json",
            },
        )
        if response.status_code in (401, 403):
            raise InvalidCredentials(
                self.brand,
                "Solar.web refused the access key; create a new key pair in Solar.web and enter both",
            )
        if response.status_code == 429:
            raise Throttled(
                self.brand,
                "Solar.web asks to slow down; polling pauses",
                self.retry_after_header(response, 600),
            )
        if response.status_code == 404:
            return None
        if 400 <= response.status_code < 500:
            raise BrandUnavailable(self.brand, f"Solar.web answered {response.status_code}; will retry later")
        return self._json(response)

    async def test_credentials(self) -> None:
        await self._get("/pvsystems", offset=0, limit=1)

    async def list_systems(self) -> list[System]:
        systems: list[System] = []
        for _ in range(MAX_LIST_PAGES):  # a cloud ignoring the page parameter must not loop us forever
            body = await self._get("/pvsystems", offset=len(systems), limit=PAGE)
            items = self._require(body, "pvSystems")
            systems.extend(
                System(str(self._require(s, "pvSystemId")), str(s.get("name") or ""), s.get("timeZone"))
                for s in items
            )
            links = body.get("links") or {}
            total = optional_float(links.get("totalItemsCount"))
            if not items or not links.get("next") or (total is not None and len(systems) >= total):
                return systems
        return systems

    async def list_wallboxes(self, system: System) -> list[Wallbox]:
        body = await self._get(f"/pvsystems/{system.system_id}/devices")
        if body is None:
            return []
        boxes = []
        for device in self._require(body, "devices"):
            kind = str(device.get("deviceType") or "").lower()
            if not any(t in kind for t in _EV_TYPES):
                continue
            device_id = str(device.get("deviceId") or "")
            serial = str(device.get("serialNumber") or device_id)
            if device_id:
                boxes.append(
                    Wallbox(system.system_id, serial, device_id, str(device.get("deviceName") or ""), kind)
                )
        return boxes

    async def fetch_snapshot(self, system: System, wallbox: Wallbox) -> CounterSnapshot:
        base = f"/pvsystems/{system.system_id}/devices/{wallbox.device_id}"
        total = await self._get(f"{base}/aggrdata", period="total")
        flow = await self._get(f"{base}/flowdata")
        if total is None or flow is None:
            raise BrandUnavailable(
                self.brand, "Solar.web no longer knows this charger; reconnect to rediscover it"
            )
        channels = _channels(self._require(total, "data"))
        flow_data = self._require(flow, "data")
        live = _channels(flow_data)
        lifetime = next((_wh(channels[n]) for n in LIFETIME_CHANNELS if n in channels), None)
        if lifetime is None:
            session = next(
                (_wh(c) for n in SESSION_CHANNELS for c in (channels.get(n), live.get(n)) if c), None
            )
            if session is None:
                raise BrandUnavailable(
                    self.brand, "Solar.web reports no energy channel for this charger; will retry later"
                )
            lifetime = accumulate_session_counter(self.state, f"session:{wallbox.device_id}", session)
        power_channel = next((live[n] for n in POWER_CHANNELS if n in live), None)
        power = optional_float(power_channel.get("value")) if power_channel else None
        if power is not None and str(power_channel.get("unit", "W")).lower() == "kw":  # type: ignore[union-attr]
            power *= 1000.0
        status = next((str(live[n].get("value")) for n in STATUS_CHANNELS if n in live), None)
        stamp = flow_data.get("logDateTime") if isinstance(flow_data, dict) else None
        try:
            when = parse_time(stamp, system.timezone) if stamp else self.clock()
        except ValueError:
            when = self.clock()
        return CounterSnapshot(time_utc=when, lifetime_wh=lifetime, power_w=power, status=status)

    async def fetch_production(self, system: System, since: datetime) -> list[ProductionInterval]:
        """The inverters' logged intervals (5 min) ending after ``since``: at most the last 24 h, one device
        list plus one history page per inverter (more pages only after a long outage)."""
        now = self.clock()
        start = max(since, now - MAX_HISTORY_SPAN)
        body = await self._get(f"/pvsystems/{system.system_id}/devices")
        if body is None:
            raise BrandUnavailable(self.brand, "Solar.web no longer knows this PV system; link it again")
        inverters = [
            str(self._require(d, "deviceId"))
            for d in self._require(body, "devices")
            if str(d.get("deviceType") or "") == "Inverter" and d.get("isActive") is not False
        ]
        if not inverters:
            raise BrandUnavailable(self.brand, "Solar.web lists no active inverter in this PV system")
        energy: dict[tuple[datetime, float], float] = {}
        for device_id in inverters:
            for row in await self._history(system.system_id, device_id, start, now):
                try:
                    end = parse_time(self._require(row, "logDateTime"))
                except ValueError:
                    raise self._unknown_shape(
                        "a Solar.web history row without a readable logDateTime"
                    ) from None
                seconds = optional_float(self._require(row, "logDuration"))
                channel = _channels(row).get(PRODUCTION_CHANNEL)
                if not seconds or seconds <= 0 or channel is None:
                    continue  # a row without the inverter's energy (logger restart): no value, not zero
                wh = _wh(channel)
                if wh is not None and since < end <= now:
                    energy[(end, seconds)] = energy.get((end, seconds), 0.0) + max(0.0, wh)
        return sorted(
            (
                ProductionInterval(end - timedelta(seconds=seconds), end, wh * 3600.0 / seconds)
                for (end, seconds), wh in energy.items()
            ),
            key=lambda interval: interval.start_utc,
        )

    async def _history(self, system_id: str, device_id: str, start: datetime, end: datetime) -> list[Any]:
        rows: list[Any] = []
        for _ in range(MAX_LIST_PAGES):
            body = await self._get(
                f"/pvsystems/{system_id}/devices/{device_id}/histdata",
                **{"from": _iso(start), "to": _iso(end), "offset": len(rows), "limit": HISTORY_PAGE},
            )
            if body is None:
                raise BrandUnavailable(self.brand, "Solar.web has no history for an inverter of this system")
            page = self._require(body, "data")
            if not isinstance(page, list):
                raise self._unknown_shape("'data' of histdata is not a list")
            rows.extend(page)
            links = body.get("links") or {}
            total = optional_float(links.get("totalItemsCount"))
            if not page or not links.get("next") or (total is not None and len(rows) >= total):
                break
        return rows
