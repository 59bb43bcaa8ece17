"""Fake Solarwatt Energy Manager: login form → kiwisessionid cookie, Kiwigrid device list with tagValues."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._recorded import recorded
from tests.fakes.inverters._server import FakeCloud, FakeRequest, FakeResponse, SimWallbox

USERNAME = "installer"
PASSWORD = "manager-password-42"
MANAGER_GUID = "urn:kiwigrid:em:manager-0001"
EV_GUID = "urn:kiwigrid:evstation:0b1f"
SERIAL = "SW-EVS-220045"


def _by_class(items: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """The recorded Energy Manager, EV station and inverter items, in that order."""

    def find(suffix: str) -> dict[str, Any]:
        return next(i for i in items if any(m["deviceClass"].endswith(suffix) for m in i["deviceModel"]))

    return find("EnergyManager"), find("evstation.EVStation"), find("SunSpecInverter")


def _retag(item: dict[str, Any], guid: str) -> None:
    item["guid"] = guid
    for tag in item["tagValues"].values():
        tag["guid"] = guid


class SolarwattFake(FakeCloud):
    brand = "solarwatt"

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.wallbox = SimWallbox(SERIAL, self.clock)
        self.sessions: set[str] = set()

    def throttle_response(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(429, "Too many requests", {"Retry-After": "30"}, content_type="text/plain")

    def expire_tokens(self) -> None:
        self.sessions.clear()

    def setup_routes(self) -> None:
        self.route("POST", "/auth/login", self.login)
        self.route("GET", "/rest/kiwigrid/wizard/devices", self.devices)

    def login(self, req: FakeRequest) -> FakeResponse:
        form = req.form()
        if form.get("username") != USERNAME or form.get("password") != PASSWORD:
            page = "<html><body><form action='/auth/login'>Login failed</form></body></html>"
            return FakeResponse(200, page, content_type="text/html")
        session = secrets.token_hex(16)
        self.sessions.add(session)
        return FakeResponse(
            302, "", {"Location": "/", "Set-Cookie": f"kiwisessionid={session}; Path=/"}, "text/plain"
        )

    def devices(self, req: FakeRequest) -> FakeResponse:
        if req.cookie("kiwisessionid") not in self.sessions:
            return FakeResponse(302, "", {"Location": "/auth/login?url=/"}, content_type="text/plain")
        wb = self.wallbox
        body = recorded("solarwatt", "wizard_devices")
        manager, station, inverter = _by_class(body["result"]["items"])
        _retag(manager, MANAGER_GUID)
        manager["tagValues"]["IdName"]["value"] = "EnergyManager pro"
        _retag(station, EV_GUID)
        for name, value in (
            ("IdName", "Garage"),
            ("IdSerialNumber", SERIAL),
            ("WorkACIn", round(wb.lifetime_wh, 1)),
            ("WorkACInSession", round(wb.session_wh, 1)),
            ("PowerACIn", wb.power_w),
            # "STANDBY" is the recorded idle mode; the charging mode's name is our assumption
            ("ModeStation", "CHARGING" if wb.charging else "STANDBY"),
        ):
            station["tagValues"][name]["value"] = value
        items = [manager, inverter, station]
        return FakeResponse(200, {"result": {"items": items}})


HARNESS = BrandHarness(
    brand="solarwatt",
    make_fake=SolarwattFake,
    good_credentials=lambda fake: {"username": USERNAME, "password": PASSWORD},
    bad_credentials=lambda fake: {"username": USERNAME, "password": "wrong-password"},
    snapshot_match="/wizard/devices",
    energy_tolerance_wh=0.2,
    expire_session=lambda fake: fake.expire_tokens(),  # type: ignore[attr-defined]
    min_systems=1,
)
