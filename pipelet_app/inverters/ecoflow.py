"""EcoFlow IoT open platform: PowerPulse charger data read through the PowerOcean's ``quota/all``.

Auth: the owner's developer access key and secret key (EcoFlow developer portal). Every request carries
headers ``accessKey``, ``nonce``, ``timestamp`` (ms) and ``sign`` = hex HMAC-SHA256 (secret key) over the
request parameters flattened (``a.b`` for objects, ``a[0]`` for lists), sorted by key, joined as
``k=v&…``, followed by ``accessKey=…&nonce=…&timestamp=…``. Answers are ``{"code": "0", "message", "data"}``.

Assumptions in one place (unverified; tolerant):

* systems are the PowerOcean devices of the account (every device when none is called so);
* a PowerOcean has a charger when its ``quota/all`` holds ``ems_ev.*`` keys (our reading; no public example)
  or a ``<model>_EVCHARGING_REPORT`` object (as in the one recorded PowerOcean Plus answer,
  ``tests/fixtures/vendors/ecoflow/`` — recorded from EcoFlow's *app* API ``device/detail``; that the open
  API's ``quota/all`` carries the same report is unverified); the charger's serial is its ``evSn`` when
  present, else the PowerPulse listed on the account, else ``<PowerOcean sn>-ev``;
* ``evChargingEnergy`` is Wh (the recorded 21786.0 reads as Wh; EcoFlow does not document the unit) and
  may be per session or cumulative (not documented): it goes through :func:`accumulate_session_counter`,
  which is right for both;
* ``quota/all`` may answer flat (``"ems_ev.x": v``) or nested (``"ems_ev": {"x": v}``) keys;
* codes ``AUTH_CODES`` mean the keys or signature were refused; throttling is HTTP 429 (limits unpublished).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

from pipelet_app.inverters.base import (
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
)

AUTH_CODES = frozenset({"8513", "8514", "8515", "8521", "8524"})
EV_PREFIX = "ems_ev."
#: the report a recorded PowerOcean answer carries the charger in (``<model>_EVCHARGING_REPORT.<field>``)
EV_REPORT = "EVCHARGING_REPORT."
ENERGY_KEYS = ("evChargingEnergy",)
STATUS_KEYS = ("chargingStatus", "evChargingStatus")
POWER_KEYS = ("evChargingPower", "chargingPower", "evPwr")
SERIAL_KEYS = ("evSn", "sn")


def _ev_field(quota: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """The first of ``names`` under ``ems_ev.`` or, as recorded, under a ``…_EVCHARGING_REPORT.`` key."""
    for name in names:
        if f"{EV_PREFIX}{name}" in quota:
            return quota[f"{EV_PREFIX}{name}"]
        for key, value in quota.items():
            if key.endswith(f"{EV_REPORT}{name}") and key.count(".") == 1:
                return value
    return None


def _has_charger(quota: Mapping[str, Any]) -> bool:
    return any(k.startswith(EV_PREFIX) or (EV_REPORT in k and k.count(".") == 1) for k in quota)


def flatten(params: Any, prefix: str = "") -> dict[str, str]:
    """EcoFlow's flattening for signing: nested objects as ``a.b``, lists as ``a[0]``."""
    out: dict[str, str] = {}
    if isinstance(params, Mapping):
        for key, value in params.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(params, list | tuple):
        for index, value in enumerate(params):
            out.update(flatten(value, f"{prefix}[{index}]"))
    else:
        out[prefix] = str(params)
    return out


def signature(secret_key: str, access_key: str, nonce: str, timestamp: str, params: Mapping[str, Any]) -> str:
    """The ``sign`` header for ``params`` (query or JSON body)."""
    flat = flatten(params)
    parts = [f"{k}={flat[k]}" for k in sorted(flat)]
    parts += [f"accessKey={access_key}", f"nonce={nonce}", f"timestamp={timestamp}"]
    return hmac.new(secret_key.encode(), "&".join(parts).encode(), hashlib.sha256).hexdigest()


class EcoFlowAdapter(InverterAdapter):
    brand = "ecoflow"
    display_name = "EcoFlow"
    auth_kind = "api_key"
    credential_fields = (
        CredentialField("access_key", "Access key", help="EcoFlow developer portal → Access key management"),
        CredentialField("secret_key", "Secret key", secret=True),
    )
    secret_keys: ClassVar[frozenset[str]] = frozenset({"secret_key"})

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        params = params or {}
        access = str(self.credentials.get("access_key", ""))
        nonce = str(secrets.randbelow(900_000) + 100_000)
        timestamp = str(int(self.clock().timestamp() * 1000))
        headers = {
            "accessKey": access,
            "nonce": nonce,
            "timestamp": timestamp,
            "sign": signature(str(self.credentials.get("secret_key", "")), access, nonce, timestamp, params),
        }
        query = urlencode(flatten(params))
        response = await self._send("GET", f"{path}?{query}" if query else path, headers=headers)
        if response.status_code in (401, 403):
            raise InvalidCredentials(self.brand, "EcoFlow refused the access key or secret key")
        if response.status_code == 429:
            raise Throttled(
                self.brand,
                "EcoFlow asks to slow down; polling pauses",
                self.retry_after_header(response, 600),
            )
        if 400 <= response.status_code < 500:
            raise BrandUnavailable(self.brand, f"EcoFlow answered {response.status_code}; will retry later")
        body = self._json(response)
        if not isinstance(body, dict) or "code" not in body:
            raise self._unknown_shape("EcoFlow's answer lacks 'code'")
        code = str(body.get("code"))
        if code in AUTH_CODES:
            raise InvalidCredentials(self.brand, "EcoFlow refused the access key or secret key (check both)")
        if code != "0":
            raise self._fail(f"EcoFlow answered code {code}; will retry later")
        if "data" not in body:
            raise self._unknown_shape("EcoFlow's answer lacks 'data'")
        return body["data"]

    async def _devices(self) -> list[dict[str, Any]]:
        data = await self._get("/iot-open/sign/device/list")
        if not isinstance(data, list):
            raise self._unknown_shape("EcoFlow's device list is not a list")
        return [d for d in data if isinstance(d, dict) and d.get("sn")]

    async def _quota(self, sn: str) -> dict[str, Any]:
        data = await self._get("/iot-open/sign/device/quota/all", {"sn": sn})
        if not isinstance(data, dict):
            raise self._unknown_shape("EcoFlow's device data is not an object")
        return flatten(data) if any(isinstance(v, Mapping) for v in data.values()) else data

    async def test_credentials(self) -> None:
        await self._devices()

    async def list_systems(self) -> list[System]:
        devices = await self._devices()
        oceans = [
            d
            for d in devices
            if "powerocean" in f"{d.get('productName', '')} {d.get('deviceName', '')}".lower()
        ]
        return [
            System(str(d["sn"]), str(d.get("deviceName") or d.get("productName") or ""))
            for d in oceans or devices
        ]

    async def list_wallboxes(self, system: System) -> list[Wallbox]:
        quota = await self._quota(system.system_id)
        if not _has_charger(quota):
            return []
        found = _ev_field(quota, SERIAL_KEYS)
        serial = str(found) if found else None
        if serial is None:
            pulses = [
                d
                for d in await self._devices()
                if "powerpulse" in f"{d.get('productName', '')} {d.get('deviceName', '')}".lower()
            ]
            serial = str(pulses[0]["sn"]) if len(pulses) == 1 else f"{system.system_id}-ev"
        return [Wallbox(system.system_id, serial, system.system_id, "PowerPulse", "PowerPulse")]

    async def fetch_snapshot(self, system: System, wallbox: Wallbox) -> CounterSnapshot:
        quota = await self._quota(wallbox.device_id)
        energy = optional_float(_ev_field(quota, ENERGY_KEYS))
        if energy is None:
            raise self._fail("EcoFlow's data lacks the charger's 'evChargingEnergy'; will retry later")
        lifetime = accumulate_session_counter(self.state, f"session:{wallbox.device_id}", energy)
        status = _ev_field(quota, STATUS_KEYS)
        return CounterSnapshot(
            time_utc=self.clock(),
            lifetime_wh=lifetime,
            power_w=optional_float(_ev_field(quota, POWER_KEYS)),
            status=None if status is None else str(status),
        )
