"""The adapter protocol every inverter brand implements, and what they share.

Why one protocol: the poll job, the connect flow and the reconstructor must not know which cloud they talk
to. Each brand module turns its cloud's auth, paging, units and error dialect into the same few calls and the
same four errors, so adding a brand touches its own module and one registry line only.

Lifecycle of an adapter (what the poll job and the connect UI do):

* build it with the decrypted credentials and the per-account ``state`` stored last time;
* call methods; each may refresh a token (then ``credentials_changed`` is True and ``credentials`` must be
  re-encrypted and saved) and may advance ``state`` (running counters, cursors: save it, it is not secret);
* ``await adapter.aclose()`` (or ``async with``).

Errors are the subclasses of :class:`InverterError`. Their ``str()`` is written for a driver ("what
happened, what to do") and never contains a secret or a raw cloud answer: the poll job may log and show it.
Four are the cloud's doing (refused credentials, re-auth, throttling, unavailable: retry later); the fifth,
:class:`IntegrationError`, is ours: the cloud answered and our code could not read it (an answer of a shape
the adapter does not know, or a plain bug). It is logged with its traceback and shown as such, never
disguised as vendor flakiness (docs/inverter-errors.md).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import ssl
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from pipelet_app.clock import utcnow

Clock = Callable[[], datetime]

# httpx logs every request URL at INFO, and several brands carry the key in the query (``?key=``,
# ``?api_key=``): keep the HTTP client's own loggers at WARNING whatever level a process configures, so a
# `pipelet worker` started with INFO logging never writes a key into its log.
for _http_logger in ("httpx", "httpcore"):
    logging.getLogger(_http_logger).setLevel(logging.WARNING)
MAX_LIST_PAGES = 50
ProgressCallback = Callable[[int, int | None], Awaitable[None] | None]


utc_now = utcnow  # the adapters' name for the application clock


# --------------------------------------------------------------------------------------------- errors


class InverterError(Exception):
    """Base of every adapter error. ``str()`` is safe to show a driver and to log (no secrets)."""

    def __init__(self, brand: str, message: str) -> None:
        super().__init__(message)
        self.brand = brand
        self.message = message

    def __str__(self) -> str:
        return f"{self.brand}: {self.message}"


class InvalidCredentials(InverterError):
    """The cloud refused the key/password/code itself. The connect form says so and saves nothing."""


class ReauthRequired(InverterError):
    """Stored credentials stopped working (refresh token expired or revoked): the driver must couple again."""


class Throttled(InverterError):
    """The cloud said "too many requests". Do not retry before ``retry_after_s`` seconds."""

    def __init__(self, brand: str, message: str, retry_after_s: float) -> None:
        super().__init__(brand, message)
        self.retry_after_s = max(1.0, float(retry_after_s))


class BrandUnavailable(InverterError):
    """The cloud is not answering usefully right now (5xx, timeout, unreachable, maintenance page, a value it
    does not have yet): retry the poll later."""


class IntegrationError(InverterError):
    """The cloud answered, and our adapter could not read the answer: a bug or a format we do not know.

    Retrying hot does not help; a developer must look. The account shows "integration error" (a state of its
    own, not "retry later"), the traceback is in the log (``pipelet.inverters`` logger), polling goes on at
    the failure back-off so the account recovers by itself once the adapter is fixed.
    """


# ---------------------------------------------------------------------------------------- data shapes


@dataclass(frozen=True)
class System:
    """One PV system / site / plant / installation of the account."""

    system_id: str
    name: str
    timezone: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Wallbox:
    """A charger detected in a system's device list.

    ``serial`` is what becomes ``station_id``; ``device_id`` is the cloud's own handle used in URLs (often the
    same as the serial, sometimes an opaque id).
    """

    system_id: str
    serial: str
    device_id: str
    name: str = ""
    model: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class CounterSnapshot:
    """The canonical snapshot the reconstructor reads: a charger's cumulative import counter at a time."""

    time_utc: datetime
    lifetime_wh: float
    power_w: float | None = None
    status: str | None = None


@dataclass(frozen=True)
class NativeSession:
    """A session the cloud itself recorded (Enphase only). Times are UTC."""

    session_id: str
    start_utc: datetime
    end_utc: datetime | None
    energy_wh: float
    charge_time_s: float | None = None
    cost: float | None = None


@dataclass(frozen=True)
class ProductionInterval:
    """The system's mean PV production over one complete interval of the cloud's resolution (UTC)."""

    start_utc: datetime
    end_utc: datetime
    power_w: float


@dataclass(frozen=True)
class CredentialField:
    """One input of the connect form for a brand (the UI renders these; ``secret`` fields are masked)."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    help: str = ""


# ------------------------------------------------------------------------------------ unit conversion


def kwh_to_wh(value: float) -> float:
    return float(value) * 1000.0


def as_float(brand: str, value: Any, what: str) -> float:
    """A number from a cloud answer, or BrandUnavailable naming the field (never the value)."""
    if isinstance(value, bool) or value is None:
        raise BrandUnavailable(brand, f"the cloud's answer has no usable value for {what}; will retry later")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BrandUnavailable(
            brand, f"the cloud's answer has a non-numeric {what}; will retry later"
        ) from None
    if not math.isfinite(number):
        raise BrandUnavailable(brand, f"the cloud's answer has a non-finite {what}; will retry later")
    return number


def optional_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def zone(name: str | None) -> ZoneInfo:
    """The site's zone, UTC when the cloud gives none or an unknown one (documented loss of precision)."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def parse_time(value: Any, tz_name: str | None = None) -> datetime:
    """Epoch seconds/milliseconds or ISO-8601 text → aware UTC. Naive text is read in the site's zone."""
    if isinstance(value, bool) or value is None:
        raise ValueError("no time")
    if isinstance(value, int | float):
        seconds = float(value) / 1000.0 if value > 1e11 else float(value)
        return datetime.fromtimestamp(seconds, UTC)
    text = str(value).strip()
    if text.isdigit() and len(text) != 14:  # 14 digits is YYYYMMDDhhmmss, not an epoch
        return parse_time(int(text), tz_name)
    for fmt in ("%Y%m%d%H%M%S", "%d-%m-%Y %H:%M:%S"):
        try:
            parsed = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(tz_name))
    return parsed.astimezone(UTC)


# ------------------------------------------------------------------------------------ counter helpers
#
# Brands give a lifetime counter, per-interval energy, or a per-session counter. These helpers turn the latter
# two into a running lifetime counter kept in the adapter's ``state`` (JSON-safe, saved by the poll job), so
# the reconstructor only ever sees one shape.


def integrate_intervals(
    state: dict[str, Any], key: str, intervals: list[tuple[datetime, float]]
) -> tuple[float, datetime | None]:
    """Add complete intervals (end time, Wh) newer than the last one integrated to a running total.

    Returns (running total Wh, end time of the newest integrated interval or None when none ever was).
    Idempotent: re-reading the same intervals adds nothing, so a retried poll never double-counts.
    """
    entry = state.setdefault(key, {"total_wh": 0.0, "last_end": None})
    last_end = datetime.fromisoformat(entry["last_end"]) if entry.get("last_end") else None
    total = float(entry.get("total_wh", 0.0))
    for end, wh in sorted(intervals):
        if last_end is not None and end <= last_end:
            continue
        total += max(0.0, wh)
        last_end = end
    entry["total_wh"] = total
    entry["last_end"] = last_end.isoformat() if last_end else None
    return total, last_end


def accumulate_session_counter(state: dict[str, Any], key: str, session_wh: float) -> float:
    """Turn a per-session counter ("Wh since plug-in") into a lifetime counter.

    A drop means a new session started: the previous session's last value is banked. A counter that is in
    fact cumulative never drops, so it passes through unchanged: this is safe for brands whose docs do not
    say which kind they give.

    Limit: a new session is only seen if some poll lands after it started while its value is still below
    the previous session's last value. When a larger session starts and grows past that value between two
    polls, the new session's first (previous value) Wh are missed: an under-count, never a double count.
    Brands with a lifetime counter never take this path.
    """
    entry = state.setdefault(key, {"banked_wh": 0.0, "last_wh": None})
    last = entry.get("last_wh")
    if last is not None and session_wh < float(last):
        entry["banked_wh"] = float(entry.get("banked_wh", 0.0)) + float(last)
    entry["last_wh"] = float(session_wh)
    return float(entry["banked_wh"]) + float(session_wh)


# --------------------------------------------------------------------------------------- the protocol

_PROTOCOL_METHODS = (
    "test_credentials",
    "list_systems",
    "list_wallboxes",
    "fetch_snapshot",
    "fetch_native_sessions",
    "fetch_production",
)


log = logging.getLogger("pipelet.inverters")


def _format_safety_net(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Turn a crash in a brand module (KeyError, TypeError... on an unknown shape) into IntegrationError.

    Why: such a crash is our bug (or a vendor format we do not know), not the vendor being down. It must not
    kill the poll job, and it must not look like "retry later" either: it is logged here with its traceback
    (for the developers; the log is not driver-facing) and raised as IntegrationError, whose text names the
    method and exception type only. The original is not chained onto it: its text could quote the answer.
    Adapter errors (the InverterError family) pass through unchanged.
    """

    @functools.wraps(method)
    async def wrapper(self: InverterAdapter, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except InverterError:
            raise
        except Exception as exc:
            where = f"{type(self).__name__}.{method.__name__}"
            log.error(
                "integration error in %s (brand %s): %s", where, self.brand, type(exc).__name__, exc_info=True
            )
            raise IntegrationError(
                self.brand,
                f"Pipelet could not read the cloud's answer ({method.__name__}: {type(exc).__name__}). "
                "This is a fault in Pipelet's integration, not in your account; it has been logged for "
                "Pipelet's team",
            ) from None

    wrapper._safety_net = True  # type: ignore[attr-defined]
    return wrapper


class InverterAdapter(ABC):
    """One brand's cloud. Subclasses set the class attributes and implement the abstract methods."""

    brand: ClassVar[str]
    display_name: ClassVar[str]
    auth_kind: ClassVar[Literal["oauth2", "api_key", "password"]]
    credential_fields: ClassVar[tuple[CredentialField, ...]]
    supports_native_sessions: ClassVar[bool] = False
    #: the brand's public API gives a system's PV production (``fetch_production``): sites can use it
    supports_production: ClassVar[bool] = False
    #: Secret values in ``credentials`` that must never reach a message (used by redact() and the tests).
    secret_keys: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wrap each brand's protocol methods in the format safety net (see :func:`_format_safety_net`)."""
        super().__init_subclass__(**kwargs)
        for name in _PROTOCOL_METHODS:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_safety_net", False):
                setattr(cls, name, _format_safety_net(method))

    def __init__(
        self,
        credentials: Mapping[str, Any],
        *,
        base_url: str | None = None,
        state: dict[str, Any] | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        timeout_s: float = 20.0,
    ) -> None:
        if base_url is None:
            from pipelet_app.settings import get_settings

            base_url = get_settings().api_base(self.brand)
        self.base_url = base_url.rstrip("/")
        self.credentials: dict[str, Any] = dict(credentials)
        self.credentials_changed = False
        self.state: dict[str, Any] = state if state is not None else {}
        self.clock: Clock = clock or utc_now
        #: (items read so far, total or None) while a history import spans several calls; None otherwise
        self.sync_progress: tuple[int, int | None] | None = None
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, verify=_ssl_context()
        )

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> InverterAdapter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- the protocol ------------------------------------------------------------------------------

    @abstractmethod
    async def test_credentials(self) -> None:
        """The live test call of the connect form: returns when the credentials work, raises otherwise."""

    @abstractmethod
    async def list_systems(self) -> list[System]:
        """Every system the credentials can read."""

    @abstractmethod
    async def list_wallboxes(self, system: System) -> list[Wallbox]:
        """Chargers found in the system's device list (empty when the system has none)."""

    @abstractmethod
    async def fetch_snapshot(self, system: System, wallbox: Wallbox) -> CounterSnapshot:
        """The charger's cumulative import counter now (Wh), with power and status when the brand has them."""

    async def fetch_native_sessions(
        self,
        system: System,
        wallbox: Wallbox,
        *,
        since: datetime | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[NativeSession]:
        """Sessions recorded by the cloud itself; only brands with ``supports_native_sessions``."""
        raise NotImplementedError(f"{self.brand} has no native session history; use snapshots")

    async def fetch_production(self, system: System, since: datetime) -> list[ProductionInterval]:
        """Complete production intervals ending after ``since``, oldest first; only brands with
        ``supports_production`` (the others' public APIs document no production series we can read).
        An interval still running is never returned: a retried poll reads it again once it is complete."""
        raise NotImplementedError(f"{self.brand}: no documented production endpoint is wired")

    async def discover(self) -> list[tuple[System, Wallbox]]:
        """Every (system, wallbox) pair: what the connect flow shows after a successful test call."""
        found: list[tuple[System, Wallbox]] = []
        for system in await self.list_systems():
            found.extend((system, wallbox) for wallbox in await self.list_wallboxes(system))
        return found

    # ---- shared HTTP plumbing ----------------------------------------------------------------------

    def _fail(self, message: str) -> BrandUnavailable:
        return BrandUnavailable(self.brand, message)

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request; network failures become BrandUnavailable (the URL may hold a key: never shown)."""
        if not url.startswith("http"):
            url = f"{self.base_url}{url}"
        try:
            return await self._client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise self._fail("the cloud did not answer in time; the poll will be retried later") from None
        except httpx.HTTPError:
            raise self._fail("the cloud could not be reached; the poll will be retried later") from None

    def _json(self, response: httpx.Response) -> Any:
        """The JSON body, or BrandUnavailable when the cloud sent HTML (maintenance page) or garbage."""
        if response.status_code >= 500:
            raise self._fail(
                f"the cloud answered with a server error ({response.status_code}); the poll will be retried"
            )
        ctype = response.headers.get("content-type", "")
        text = response.text
        if "html" in ctype or text.lstrip().startswith("<"):
            raise self._fail("the cloud sent a web page instead of data (maintenance?); will retry later")
        try:
            return json.loads(text)
        except ValueError:
            raise self._fail("the cloud sent an unreadable answer; the poll will be retried later") from None

    def _unknown_shape(self, what: str) -> IntegrationError:
        """An answer whose structure the adapter does not know: logged with the stack, returned to raise.

        ``what`` names the field or structure (never a value): it goes into the log and the driver's text.
        """
        log.error("integration error (%s): %s", self.brand, what, stack_info=True)
        return IntegrationError(
            self.brand,
            f"Pipelet could not read the cloud's answer ({what}). This is a fault in Pipelet's integration, "
            "not in your account; it has been logged for Pipelet's team",
        )

    def _require(self, data: Any, *path: str | int) -> Any:
        """``data[path[0]][path[1]]…`` or IntegrationError naming the missing field.

        A 2xx JSON answer without a field the adapter needs is an answer of a shape we do not know, not an
        outage: it surfaces as an integration error, logged with the stack.
        """
        current = data
        for step in path:
            try:
                current = current[step]
            except (KeyError, IndexError, TypeError):
                name = ".".join(str(p) for p in path)
                raise self._unknown_shape(f"no field '{name}'") from None
        return current

    @staticmethod
    def retry_after_header(response: httpx.Response, default_s: float) -> float:
        """Seconds from a Retry-After header (delta or HTTP date), else the brand's default."""
        value = response.headers.get("retry-after")
        if not value:
            return default_s
        try:
            return max(1.0, float(value))
        except ValueError:
            pass
        try:
            from email.utils import parsedate_to_datetime

            return max(1.0, (parsedate_to_datetime(value) - utc_now()).total_seconds())
        except (TypeError, ValueError):
            return default_s


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every adapter: building one per client costs ~50 ms of CPU per poll."""
    return ssl.create_default_context()


def seconds_until_next_month(now: datetime) -> float:
    first = date(now.year + (now.month == 12), now.month % 12 + 1, 1)
    return (datetime(first.year, first.month, 1, tzinfo=UTC) - now).total_seconds()


def seconds_until_next_day(now: datetime) -> float:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()
