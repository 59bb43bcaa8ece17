"""Fake Victron VRM API v2: access tokens or login JWT, installations, system overview, evcs stats."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._recorded import recorded
from tests.fakes.inverters._server import INTERVAL_S, FakeCloud, FakeRequest, FakeResponse, SimWallbox

ACCESS_TOKEN = "vrm-access-token-1234567890abcdef"
USERNAME = "driver@example.com"
PASSWORD = "vrm-password-xyz"
USER_ID = 22
SITE = 151_734
EMPTY_SITE = 151_735
SERIAL = "HQ2207ABCDE"
#: how the simulated PV production splits over VRM's flows: to consumers, battery, grid
PV_SPLIT = {"Pc": 0.6, "Pb": 0.1, "Pg": 0.3}
OTHER_FLOWS = ("Gc", "Gb", "Bc", "Bg")


class VictronFake(FakeCloud):
    brand = "victron"

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.wallbox = SimWallbox(SERIAL, self.clock)
        self.jwts: set[str] = set()
        #: the installation's PV production (W) at a moment (aware); kwh stats serve it per quarter hour
        self.production: Callable[[datetime], float] = lambda moment: 0.0

    def throttle_response(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(429, {"success": False, "errors": "Too many requests"}, {"Retry-After": "60"})

    def expire_tokens(self) -> None:
        self.jwts.clear()

    def setup_routes(self) -> None:
        self.route("POST", "/v2/auth/login", self.login)
        self.route("GET", "/v2/users/me", self.me)
        self.route("GET", r"/v2/users/(?P<uid>\d+)/installations", self.installations)
        self.route("GET", r"/v2/installations/(?P<site>\d+)/system-overview", self.overview)
        self.route("GET", r"/v2/installations/(?P<site>\d+)/stats", self.stats)

    def login(self, req: FakeRequest) -> FakeResponse:
        body = req.json()
        if body.get("username") != USERNAME or body.get("password") != PASSWORD:
            return FakeResponse(
                401, {"success": False, "errors": "Invalid credentials", "error_code": "invalid_credentials"}
            )
        token = secrets.token_hex(16)
        self.jwts.add(token)
        return FakeResponse(200, {"token": token, "idUser": USER_ID, "verification_mode": "password"})

    def _denied(self, req: FakeRequest) -> FakeResponse | None:
        header = req.header("X-Authorization") or ""
        if header == f"Token {ACCESS_TOKEN}" or header.removeprefix("Bearer ") in self.jwts:
            return None
        return FakeResponse(
            401, {"success": False, "errors": "Authentication required", "error_code": "not_authenticated"}
        )

    def me(self, req: FakeRequest) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        return FakeResponse(
            200, {"success": True, "user": {"id": USER_ID, "name": "Driver", "email": USERNAME}}
        )

    def installations(self, req: FakeRequest, uid: str) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        body = recorded("victron", "installations")
        template = {**body["records"][0], "idUser": USER_ID, "timezone": "Europe/Amsterdam"}
        records = [
            {**template, "idSite": SITE, "name": "Home", "identifier": "c0619ab1"},
            {**template, "idSite": EMPTY_SITE, "name": "Boat", "identifier": "c0619ab2"},
        ]
        body["records"] = records if int(uid) == USER_ID else []
        return FakeResponse(200, body)

    def overview(self, req: FakeRequest, site: str) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        devices = [{"name": "Gateway", "productName": "Cerbo GX", "instance": 0}]
        if int(site) == SITE:
            devices.append(
                {"name": "EVCS", "productName": "EV Charging Station", "instance": 40, "identifier": SERIAL}
            )
        return FakeResponse(200, {"success": True, "records": {"devices": devices}})

    def stats(self, req: FakeRequest, site: str) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        if req.query.get("type") == "kwh":
            return self.kwh_stats(req, site)
        if req.query.get("type") != "evcs":
            return FakeResponse(400, {"success": False, "errors": "type"})
        start, end = int(req.query["start"]), int(req.query["end"])
        rows = []
        bucket = start // INTERVAL_S * INTERVAL_S
        while bucket <= end:  # includes the interval still in progress, as VRM does
            rows.append([bucket * 1000, round(self.wallbox.buckets.get(bucket, 0.0) / 1000, 5)])
            bucket += INTERVAL_S
        if int(site) != SITE:
            rows = []
        # the envelope and the [ms, value] rows are the recorded stats answer's; the key `evE` is not in it
        return FakeResponse(200, {"records": {"evE": rows}, "success": True})

    def kwh_stats(self, req: FakeRequest, site: str) -> FakeResponse:
        """Energy flows per quarter hour in the recorded stats answer's shape (rows [ms, kWh], a flow without
        data is false, totals per flow); the quarter in progress included with its energy so far."""
        if req.query.get("interval") != "15mins":
            return FakeResponse(400, {"success": False, "errors": "this fake serves 15mins only"})
        start, end = int(req.query["start"]), int(req.query["end"])
        now = self.clock.now()
        records: dict[str, object] = {flow: False for flow in OTHER_FLOWS}
        totals: dict[str, object] = {flow: False for flow in OTHER_FLOWS}
        bucket = start // INTERVAL_S * INTERVAL_S
        rows: dict[str, list[list[float]]] = {flow: [] for flow in PV_SPLIT}
        while bucket <= end and int(site) == SITE:
            begin = datetime.fromtimestamp(bucket, UTC)
            minutes = [begin + timedelta(minutes=i, seconds=30) for i in range(15)]
            kwh = sum(self.production(m) / 60 for m in minutes if m < now) / 1000
            for flow, share in PV_SPLIT.items():
                rows[flow].append([bucket * 1000, kwh * share])
            bucket += INTERVAL_S
        for flow, series in rows.items():
            records[flow] = series or False
            totals[flow] = sum(v for _, v in series) if series else False
        records["kwh"] = False  # the observed key; its value is not public ("statistic without data" assumed)
        return FakeResponse(200, {"records": records, "success": True, "totals": totals})


HARNESS = BrandHarness(
    brand="victron",
    make_fake=VictronFake,
    good_credentials=lambda fake: {"access_token": ACCESS_TOKEN},
    bad_credentials=lambda fake: {"access_token": "revoked-token-123456"},
    snapshot_match="/stats",
    energy_tolerance_wh=0.5,
    interval_based=True,
)
