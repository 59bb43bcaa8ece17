"""Solarwatt Energy Manager (Kiwigrid): EVStation devices read from the manager's own web API.

Solarwatt has no public cloud API, so this adapter talks to the driver's Energy Manager (its URL comes from
the credential ``manager_url``, else ``SOLARWATT_API_BASE``; it must be reachable from Pipelet, e.g. through
the driver's port forwarding or VPN). Auth is the manager's login form: ``POST /auth/login`` sets a
``kiwisessionid`` cookie, kept in ``credentials`` and renewed once when the manager answers 401 or redirects
to the login page.

One request reads everything: ``GET /rest/kiwigrid/wizard/devices`` lists every device with its
``tagValues``. The manager is the single system of the account.

Assumptions in one place (from community integrations; tolerant): a charger has a ``deviceModel`` entry whose
``deviceClass`` ends in ``evstation.EVStation``; ``WorkACIn`` is the lifetime import in Wh,
``WorkACInSession`` the Wh of the running session (accumulated when no lifetime tag exists), ``PowerACIn``
the power in W and ``ModeStation`` the status; a serial is in ``IdSerialNumber``/``SerialNumber``, else the
device ``guid`` is used.

A real manager's answer with an EV station is recorded in ``tests/fixtures/vendors/solarwatt/`` and confirms
the tags above (``WorkACIn`` 3354706.8 read as Wh).
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from pipelet_app.inverters.base import (
    BrandUnavailable,
    Clock,
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

DEVICES = "/rest/kiwigrid/wizard/devices"
COOKIE = "kiwisessionid"
EV_CLASS_SUFFIX = "evstation.EVStation"
MANAGER_CLASS_SUFFIX = "EnergyManager"
LIFETIME_TAG = "WorkACIn"
SESSION_TAG = "WorkACInSession"
POWER_TAG = "PowerACIn"
STATUS_TAG = "ModeStation"
SERIAL_TAGS = ("IdSerialNumber", "SerialNumber")
NAME_TAGS = ("IdName", "IdLabelUser", "Name")


def _classes(item: dict[str, Any]) -> list[str]:
    return [str(m.get("deviceClass", "")) for m in item.get("deviceModel") or [] if isinstance(m, dict)]


def _tag(item: dict[str, Any], name: str) -> Any:
    value = (item.get("tagValues") or {}).get(name)
    return value.get("value") if isinstance(value, dict) else value


class SolarwattAdapter(InverterAdapter):
    brand = "solarwatt"
    display_name = "Solarwatt Energy Manager"
    auth_kind = "password"
    credential_fields = (
        CredentialField(
            "manager_url",
            "Energy Manager address",
            required=False,
            help="e.g. https://my-home.example.net:8443 — the manager must be reachable from Pipelet",
        ),
        CredentialField("username", "Manager user", help="Usually 'installer' or your own manager login"),
        CredentialField("password", "Manager password", secret=True),
    )
    secret_keys: ClassVar[frozenset[str]] = frozenset({"password", "session_cookie"})

    def __init__(
        self,
        credentials: dict[str, Any],
        *,
        base_url: str | None = None,
        state: dict[str, Any] | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        timeout_s: float = 20.0,
    ) -> None:
        super().__init__(
            credentials,
            base_url=base_url or credentials.get("manager_url") or None,
            state=state,
            client=client,
            clock=clock,
            timeout_s=timeout_s,
        )

    async def _login(self) -> None:
        response = await self._send(
            "POST",
            "/auth/login",
            data={
                "username": self.credentials.get("username", ""),
                "password": self.credentials.get("password", ""),
                "url": "/",
                "submit": "Login",
            },
        )
        if response.status_code >= 500:
            self._json(response)  # raises BrandUnavailable
        if response.status_code == 429:
            raise Throttled(self.brand, "the Energy Manager refuses logins this often", 60.0)
        session = response.cookies.get(COOKIE)
        if not session:
            raise InvalidCredentials(self.brand, "the Energy Manager refused the user name or password")
        self.credentials["session_cookie"] = session
        self.credentials_changed = True

    async def _devices(self) -> list[dict[str, Any]]:
        if not self.credentials.get("session_cookie"):
            await self._login()
        for attempt in (1, 2):
            response = await self._send(
                "GET", DEVICES, headers={"Cookie": f"{COOKIE}={self.credentials.get('session_cookie', '')}"}
            )
            expired = response.status_code in (401, 403) or (
                response.status_code in (302, 303) and "login" in response.headers.get("location", "")
            )
            if expired and attempt == 1:
                await self._login()
                continue
            if expired:
                raise InvalidCredentials(self.brand, "the Energy Manager keeps refusing the login session")
            if response.status_code == 429:
                raise Throttled(
                    self.brand, "the Energy Manager asks to slow down", self.retry_after_header(response, 60)
                )
            if 300 <= response.status_code < 500:
                raise BrandUnavailable(
                    self.brand, f"the Energy Manager answered {response.status_code}; will retry later"
                )
            items = self._require(self._json(response), "result", "items")
            if not isinstance(items, list):
                raise self._unknown_shape("the Energy Manager's device list is not a list")
            return [i for i in items if isinstance(i, dict)]
        raise AssertionError("unreachable")

    async def test_credentials(self) -> None:
        await self._login()

    async def list_systems(self) -> list[System]:
        items = await self._devices()
        manager = next((i for i in items if any(c.endswith(MANAGER_CLASS_SUFFIX) for c in _classes(i))), None)
        system_id = str((manager or {}).get("guid") or self.base_url)
        name = str(
            next((_tag(manager, t) for t in NAME_TAGS if manager and _tag(manager, t)), "Energy Manager")
        )
        return [System(system_id, name)]

    async def list_wallboxes(self, system: System) -> list[Wallbox]:
        boxes = []
        for item in await self._devices():
            if not any(c.endswith(EV_CLASS_SUFFIX) for c in _classes(item)) or not item.get("guid"):
                continue
            guid = str(item["guid"])
            serial = next((str(_tag(item, t)) for t in SERIAL_TAGS if _tag(item, t)), guid)
            name = next((str(_tag(item, t)) for t in NAME_TAGS if _tag(item, t)), "EV station")
            boxes.append(Wallbox(system.system_id, serial, guid, name, "EVStation"))
        return boxes

    async def fetch_snapshot(self, system: System, wallbox: Wallbox) -> CounterSnapshot:
        item = next((i for i in await self._devices() if str(i.get("guid")) == wallbox.device_id), None)
        if item is None:
            raise self._fail("the Energy Manager no longer lists this charger; will retry later")
        lifetime = optional_float(_tag(item, LIFETIME_TAG))
        if lifetime is None:
            session = optional_float(_tag(item, SESSION_TAG))
            if session is None:
                raise self._fail("the Energy Manager reports no WorkACIn for this charger; will retry later")
            lifetime = accumulate_session_counter(self.state, f"session:{wallbox.device_id}", session)
        status = _tag(item, STATUS_TAG)
        return CounterSnapshot(
            time_utc=self.clock(),
            lifetime_wh=lifetime,
            power_w=optional_float(_tag(item, POWER_TAG)),
            status=None if status is None else str(status),
        )
