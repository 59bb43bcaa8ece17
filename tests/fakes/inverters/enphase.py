"""Fake Enphase v4 cloud: OAuth2 code flow, ``?key=`` + Bearer, 429 bodies, sessions paging, telemetry.

Every answer body is built from the recorded v4 examples in ``tests/fixtures/vendors/enphase/`` (same keys,
simulated values), and the contract tests check each served answer against them.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._recorded import recorded
from tests.fakes.inverters._server import FakeCloud, FakeRequest, FakeResponse, SimWallbox

API_KEY = "enph-app-key-0123456789"
CLIENT_ID = "enph-client-id"
CLIENT_SECRET = "enph-client-secret-abcdef"
SYSTEM_ID = 4242
EMPTY_SYSTEM_ID = 4343
SERIAL = "202312100006"
TZ = "Europe/Berlin"


class EnphaseFake(FakeCloud):
    brand = "enphase"

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.wallbox = SimWallbox(SERIAL, self.clock)
        self.codes: dict[str, str] = {}  # code -> redirect_uri
        self.access: dict[str, float] = {}  # token -> expiry epoch
        self.refresh: set[str] = set()
        self.energy_unit = "kwh"  # how `energy_added` is reported: "kwh" (the docs' example) or "wh"
        self.newest_first = True
        self.per_minute_limit: int | None = None
        self._minute: dict[int, int] = {}
        #: the system's PV production (W) at a moment; production_micro serves its 5-minute means
        self.production: Callable[[datetime], float] = lambda moment: 0.0

    # ---- knobs for tests ---------------------------------------------------------------------------

    def issue_code(self, redirect_uri: str = "http://localhost/cb") -> str:
        code = secrets.token_hex(8)
        self.codes[code] = redirect_uri
        return code

    def issue_tokens(self, expires_in: float = 86_400) -> dict[str, Any]:
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        self.access[access] = self.clock.now().timestamp() + expires_in
        self.refresh.add(refresh)
        return {
            "access_token": access,
            "token_type": "bearer",
            "refresh_token": refresh,
            "expires_in": int(expires_in),
            "scope": "read write",
        }

    def credentials(self) -> dict[str, Any]:
        """What the connect flow would have stored after the code exchange."""
        tokens = self.issue_tokens()
        return {
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "expires_at": self.clock.now().timestamp() + tokens["expires_in"],
            "api_key": API_KEY,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }

    def expire_access_tokens(self) -> None:
        self.access.clear()

    def revoke_refresh_tokens(self) -> None:
        self.refresh.clear()

    # ---- protocol answers --------------------------------------------------------------------------

    def throttle_response(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(429, recorded("enphase", "throttled_429"))

    def setup_routes(self) -> None:
        self.route("GET", "/oauth/authorize", self.authorize)
        self.route("POST", "/oauth/token", self.token)
        self.route("GET", "/api/v4/systems", self.systems)
        self.route("GET", r"/api/v4/systems/(?P<sid>\d+)/ev_charger/devices", self.devices)
        self.route("GET", r"/api/v4/systems/(?P<sid>\d+)/ev_charger/(?P<sn>\w+)/sessions", self.sessions)
        self.route("GET", r"/api/v4/systems/(?P<sid>\d+)/ev_charger/(?P<sn>\w+)/telemetry", self.telemetry)
        self.route("GET", r"/api/v4/systems/(?P<sid>\d+)/telemetry/production_micro", self.production_micro)

    def authorize(self, req: FakeRequest) -> FakeResponse:
        """Auto-approving consent page: redirects straight back with a code (for browser tests)."""
        if req.query.get("client_id") != CLIENT_ID:
            return FakeResponse(400, {"error": "invalid_client"})
        code = self.issue_code(req.query["redirect_uri"])
        location = (
            f"{req.query['redirect_uri']}?{urlencode({'code': code, 'state': req.query.get('state', '')})}"
        )
        return FakeResponse(302, "", {"Location": location}, content_type="text/plain")

    def token(self, req: FakeRequest) -> FakeResponse:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if req.header("authorization") != expected:
            return FakeResponse(401, {"error": "unauthorized", "error_description": "Bad client credentials"})
        grant = req.query.get("grant_type")
        if grant == "authorization_code":
            if self.codes.pop(req.query.get("code", ""), None) != req.query.get("redirect_uri"):
                return FakeResponse(400, {"error": "invalid_grant", "error_description": "Invalid code"})
        elif grant == "refresh_token":
            token = req.query.get("refresh_token", "")
            if token not in self.refresh:
                return FakeResponse(
                    401, {"error": "invalid_token", "error_description": "Invalid refresh token"}
                )
            self.refresh.discard(token)
        else:
            return FakeResponse(400, {"error": "unsupported_grant_type"})
        return FakeResponse(200, self.issue_tokens())

    def _auth(self, req: FakeRequest) -> FakeResponse | None:
        if self.per_minute_limit is not None:
            minute = int(self.clock.now().timestamp()) // 60
            self._minute[minute] = self._minute.get(minute, 0) + 1
            if self._minute[minute] > self.per_minute_limit:
                return self.throttle_response(req)
        if req.query.get("key") != API_KEY:
            return FakeResponse(401, {"message": "Not Authorized", "details": "Invalid API key", "code": 401})
        token = (req.header("authorization") or "").removeprefix("Bearer ")
        if self.access.get(token, 0) <= self.clock.now().timestamp():
            return FakeResponse(
                401, {"message": "Not Authorized", "details": "Invalid access token", "code": 401}
            )
        return None

    def systems(self, req: FakeRequest) -> FakeResponse:
        if (denied := self._auth(req)) is not None:
            return denied
        body = recorded("enphase", "systems")
        template = body["systems"][0]
        items = [
            {**template, "system_id": SYSTEM_ID, "name": "Home", "timezone": TZ, "status": "normal"},
            {**template, "system_id": EMPTY_SYSTEM_ID, "name": "Barn", "timezone": TZ, "status": "normal"},
        ]
        page, size = int(req.query.get("page", 1)), int(req.query.get("size", 10))
        chunk = items[(page - 1) * size : page * size]
        body.update(total=len(items), current_page=page, size=size, count=len(chunk), systems=chunk)
        return FakeResponse(200, body)

    def devices(self, req: FakeRequest, sid: str) -> FakeResponse:
        if (denied := self._auth(req)) is not None:
            return denied
        if int(sid) != SYSTEM_ID:
            return FakeResponse(404, {"message": "Not Found", "details": "No EV chargers", "code": 404})
        body = recorded("enphase", "ev_charger_devices")
        charger = body["devices"]["ev_chargers"][0]
        charger.update(
            id=f"{SERIAL}:{SYSTEM_ID}",
            serial_number=SERIAL,
            name="IQ EV Charger",
            model="IQ-EVSE-EU-3032",
            last_report_at=int(self.clock.now().timestamp()),
        )
        body.update(system_id=SYSTEM_ID, total_devices=1)
        return FakeResponse(200, body)

    def sessions(self, req: FakeRequest, sid: str, sn: str) -> FakeResponse:
        if (denied := self._auth(req)) is not None:
            return denied
        offset, limit = int(req.query.get("offset", 0)), int(req.query.get("limit", 20))
        if limit > 100:
            body = {"message": "Bad request", "code": "400", "details": ["Invalid offset/limit"]}
            return FakeResponse(400, body)
        done = [s for s in self.wallbox.sessions if s.end is not None]
        if self.newest_first:
            done = list(reversed(done))
        body = recorded("enphase", "ev_charger_sessions")
        template = body["sessions"][0]
        rows = []
        for s in done[offset : offset + limit]:
            seconds = int((s.end - s.start).total_seconds())
            energy = round(s.energy_wh / 1000.0, 2) if self.energy_unit == "kwh" else round(s.energy_wh)
            rows.append(
                {
                    **template,
                    "start_time": int(s.start.timestamp()),
                    "end_time": int(s.end.timestamp()),
                    "duration": seconds,
                    "energy_added": energy,
                    "charge_time": seconds,
                    "miles_added": round(s.energy_wh / 1000.0 * 3.5, 1),
                    "cost": round(s.energy_wh / 1000.0 * 0.3, 2),
                }
            )
        body.update(count=len(rows), system_id=int(sid), sessions=rows)
        return FakeResponse(200, body)

    def telemetry(self, req: FakeRequest, sid: str, sn: str) -> FakeResponse:
        if (denied := self._auth(req)) is not None:
            return denied
        start = datetime.fromtimestamp(int(req.query.get("start_at", 0)), UTC)
        intervals = [
            {"consumption": round(wh), "end_at": int(end.timestamp())}
            for end, wh in self.wallbox.complete_intervals(since=start)
        ][:96]
        body = recorded("enphase", "ev_charger_telemetry")
        body.update(
            granularity=req.query.get("granularity", "day"),
            consumption=intervals,
            system_id=int(sid),
            start_at=int(start.timestamp()),
            end_at=intervals[-1]["end_at"] if intervals else int(start.timestamp()),
        )
        return FakeResponse(200, body)

    def production_micro(self, req: FakeRequest, sid: str) -> FakeResponse:
        """The documented shape: complete 5-minute intervals from ``start_at`` (at most 288, a day)."""
        if (denied := self._auth(req)) is not None:
            return denied
        if int(sid) not in (SYSTEM_ID, EMPTY_SYSTEM_ID):
            return FakeResponse(404, {"message": "Not Found", "details": "System not found", "code": 404})
        now = self.clock.now()
        start = datetime.fromtimestamp(int(req.query.get("start_at", now.timestamp() - 86_400)), UTC)
        step = timedelta(minutes=5)
        end = datetime.fromtimestamp(int(start.timestamp()) // 300 * 300, UTC) + step
        body = recorded("enphase", "production_micro")
        template = body["intervals"][0]
        intervals = []
        while end <= now and len(intervals) < 288:
            # the mean over the interval from one sample a minute
            watts = sum(self.production(end - step + timedelta(minutes=i, seconds=30)) for i in range(5)) / 5
            intervals.append(
                {**template, "end_at": int(end.timestamp()), "powr": round(watts), "enwh": round(watts / 12)}
            )
            end += step
        body.update(
            system_id=int(sid),
            granularity=req.query.get("granularity", "day"),
            start_at=int(start.timestamp()),
            end_at=intervals[-1]["end_at"] if intervals else int(start.timestamp()),
            intervals=intervals,
        )
        return FakeResponse(200, body)


def _bad(fake: FakeCloud) -> dict[str, Any]:
    creds = fake.credentials()  # type: ignore[attr-defined]
    return {**creds, "access_token": "not-a-token", "refresh_token": None}


def _expire(fake: FakeCloud) -> None:
    fake.expire_access_tokens()  # type: ignore[attr-defined]


HARNESS = BrandHarness(
    brand="enphase",
    make_fake=EnphaseFake,
    good_credentials=lambda fake: fake.credentials(),  # type: ignore[attr-defined]
    bad_credentials=_bad,
    snapshot_match="/telemetry",
    energy_tolerance_wh=20.0,  # whole Wh per 15-min interval
    expire_session=_expire,
    interval_based=True,
)
