"""The framework every fake inverter cloud is built on: a real HTTP server on loopback plus a wallbox model.

Why a real server and not respx: the adapters' whole job is HTTP (headers, cookies, form vs JSON bodies,
HTML error pages, status codes); a server in a thread exercises the same httpx code paths production does,
and the connect-flow and browser tests can point ``<BRAND>_API_BASE`` at it too.

A fake owns a simulated clock and one or more :class:`SimWallbox` whose counters tests drive
(``fake.wallbox.charge(minutes=90, power_w=7400)``). Faults are queued with :meth:`FakeCloud.inject`:
``"500"``, ``"html"``, ``"empty"`` (``{}`` — a missing field), ``"throttle"`` (the brand's own
throttle answer).
"""

from __future__ import annotations

import bisect
import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

INTERVAL_S = 900


class SimClock:
    """Time of the simulated world; adapters under test read it through ``clock=fake.clock.now``."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._real = False

    def now(self) -> datetime:
        return datetime.now(UTC) if self._real else self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        self._now = moment

    def follow_real_time(self) -> None:
        """From now on report the wall clock (standalone runs, where the app under test uses real time)."""
        self._real = True


@dataclass
class SimSession:
    start: datetime
    end: datetime | None
    energy_wh: float


@dataclass
class SimWallbox:
    """A charger's import meter. Energy accrues only while ``power_w`` > 0 and the clock advances."""

    serial: str
    clock: SimClock
    lifetime_wh: float = 1_234_567.0
    power_w: float = 0.0
    plugged: bool = False
    session_wh: float = 0.0
    sessions: list[SimSession] = field(default_factory=list)
    #: energy per 15-minute bucket, keyed by bucket start (epoch seconds)
    buckets: dict[int, float] = field(default_factory=dict)
    #: (epoch seconds, lifetime Wh) after every simulation step, for clouds that report past readings
    readings: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.readings.append((self.clock.now().timestamp(), self.lifetime_wh))

    @property
    def charging(self) -> bool:
        return self.power_w > 0

    def start(self, power_w: float) -> None:
        self.plugged = True
        self.power_w = power_w
        self.session_wh = 0.0
        self.sessions.append(SimSession(self.clock.now(), None, 0.0))

    def stop(self) -> None:
        if self.sessions and self.sessions[-1].end is None:
            self.sessions[-1].end = self.clock.now()
        self.power_w = 0.0
        self.plugged = False

    def advance(self, seconds: float) -> None:
        """Let time pass in steps of at most a minute, accruing energy into counter and buckets."""
        remaining = seconds
        if self.power_w <= 0 and remaining > 0:  # nothing accrues: one jump
            self.clock.advance(remaining)
            self.readings.append((self.clock.now().timestamp(), self.lifetime_wh))
            return
        while remaining > 0:
            step = min(60.0, remaining)
            now = self.clock.now()
            if self.power_w > 0:
                wh = self.power_w * step / 3600.0
                self.lifetime_wh += wh
                self.session_wh += wh
                self.sessions[-1].energy_wh += wh
                bucket = int(now.timestamp()) // INTERVAL_S * INTERVAL_S
                self.buckets[bucket] = self.buckets.get(bucket, 0.0) + wh
            self.clock.advance(step)
            self.readings.append((self.clock.now().timestamp(), self.lifetime_wh))
            remaining -= step

    def lifetime_at(self, moment: datetime) -> float:
        """The counter as it stood at ``moment`` (a past reading, or the start value before any)."""
        t = moment.timestamp()
        index = bisect.bisect_right(self.readings, (t, float("inf")))
        return self.readings[max(0, index - 1)][1]

    def charge(self, minutes: float, power_w: float) -> float:
        """A whole session: start, run, stop. Returns the energy it added (Wh)."""
        before = self.lifetime_wh
        self.start(power_w)
        self.advance(minutes * 60)
        self.stop()
        return self.lifetime_wh - before

    def complete_intervals(self, since: datetime | None = None) -> list[tuple[datetime, float]]:
        """(interval end, Wh) of every finished 15-min interval since ``since``, zero-energy ones too."""
        now = int(self.clock.now().timestamp())
        first = min(self.buckets) if self.buckets else now // INTERVAL_S * INTERVAL_S
        if since is not None:
            first = max(first, int(since.timestamp()) // INTERVAL_S * INTERVAL_S)
        out = []
        start = first
        while start + INTERVAL_S <= now:
            out.append((datetime.fromtimestamp(start + INTERVAL_S, UTC), self.buckets.get(start, 0.0)))
            start += INTERVAL_S
        return out


@dataclass
class FakeRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def cookie(self, name: str) -> str | None:
        for part in (self.header("cookie") or "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return None


@dataclass
class FakeResponse:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encode(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Handler = Callable[..., FakeResponse]
HTML_PAGE = "<!DOCTYPE html><html><body><h1>Scheduled maintenance</h1></body></html>"


@dataclass
class Fault:
    kind: str
    match: str | None
    body: Any = None


class FakeCloud:
    """Base of every brand fake. Subclasses register routes in ``setup_routes`` and answer throttling."""

    brand = "fake"

    def __init__(self, start: datetime | None = None) -> None:
        self.clock = SimClock(start or datetime(2026, 6, 1, 6, 0, tzinfo=UTC))
        self.lock = threading.RLock()
        self.requests: list[FakeRequest] = []
        #: (path, status, JSON body) of every answer a route handler gave (the shape check reads these)
        self.answers: list[tuple[str, int, Any]] = []
        self._faults: deque[Fault] = deque()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._server: ThreadingHTTPServer | None = None
        self.setup_routes()

    # ---- things subclasses provide ----------------------------------------------------------------

    def setup_routes(self) -> None:
        raise NotImplementedError

    def throttle_response(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(429, {"message": "Too Many Requests"}, {"Retry-After": "60"})

    # ---- routing -----------------------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(f"^{pattern}$"), handler))

    def inject(self, kind: str, *, match: str | None = None, times: int = 1, body: Any = None) -> None:
        """Answer the next ``times`` requests whose path contains ``match`` with a fault.

        ``"body"`` answers 200 with ``body`` as JSON (a cloud whose format changed)."""
        for _ in range(times):
            self._faults.append(Fault(kind, match, body))

    def _take_fault(self, request: FakeRequest) -> Fault | None:
        for fault in list(self._faults):
            if fault.match is None or fault.match in request.path:
                self._faults.remove(fault)
                return fault
        return None

    def dispatch(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            self.requests.append(request)
            fault = self._take_fault(request)
            if fault is not None:
                if fault.kind == "500":
                    return FakeResponse(500, {"error": "internal"})
                if fault.kind == "html":
                    return FakeResponse(200, HTML_PAGE, content_type="text/html")
                if fault.kind == "empty":
                    return FakeResponse(200, {})
                if fault.kind == "body":
                    return FakeResponse(200, fault.body)
                if fault.kind == "throttle":
                    return self.throttle_response(request)
                raise ValueError(fault.kind)
            for method, pattern, handler in self._routes:
                m = pattern.match(request.path)
                if m and method == request.method:
                    response = handler(request, **m.groupdict())
                    self.answers.append((request.path, response.status, response.body))
                    return response
            return FakeResponse(404, {"error": "not found", "path": request.path})

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    # ---- server lifecycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeCloud:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                request = FakeRequest(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                response = fake.dispatch(request)
                payload = response.encode()
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args: object) -> None:  # keep test output quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def json_error(status: int, body: Any, headers: dict[str, str] | None = None) -> FakeResponse:
    return FakeResponse(status, body, headers or {})


class SimPvCounter:
    """A PV plant's energy counter, for clouds that report a live counter (a lifetime or a day's yield)
    instead of a production history: integrates ``production`` (W at an aware moment) minute by minute up to
    the clock's now. Tests change the production by replacing the fake's ``production`` callable."""

    def __init__(self, clock: SimClock, production: Callable[[datetime], float], start_wh: float) -> None:
        self.clock = clock
        self.production = production
        self._wh = start_wh
        self._t = clock.now()
        #: (minute start, Wh in that minute), for counters that restart (a day's yield)
        self.minutes: list[tuple[datetime, float]] = []

    def wh(self) -> float:
        """The counter now (complete minutes only)."""
        now = self.clock.now()
        while self._t + timedelta(minutes=1) <= now:
            wh = self.production(self._t + timedelta(seconds=30)) / 60.0
            self.minutes.append((self._t, wh))
            self._wh += wh
            self._t += timedelta(minutes=1)
        return self._wh

    def since(self, moment: datetime, until: datetime | None = None) -> float:
        """Energy (Wh) of the complete minutes from ``moment`` to ``until`` (default now): a counter that
        restarted at ``moment`` (a day's yield), as it stood at ``until``."""
        self.wh()
        return sum(wh for t, wh in self.minutes if t >= moment and (until is None or t < until))
