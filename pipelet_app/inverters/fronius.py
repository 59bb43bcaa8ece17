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

Documented structures and what no public example shows (Wattpilot channels, device ``aggrdata``):
``tests/fixtures/vendors/fronius/SOURCE.md``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pipelet_app.inverters.base import (
    MAX_LIST_PAGES,
    BrandUnavailable,
    CounterSnapshot,
    CredentialField,
    InvalidCredentials,
    InverterAdapter,
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
