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

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from pipelet_app.clock import utcnow
from pipelet_app.integrations.errors import (  # noqa: F401  (the brand modules import them from here)
    BrandUnavailable,
    IntegrationError,
    InvalidCredentials,
    InverterError,
    ReauthRequired,
    Throttled,
)
from pipelet_app.integrations.http_adapter import HttpAdapter

Clock = Callable[[], datetime]

MAX_LIST_PAGES = 50
ProgressCallback = Callable[[int, int | None], Awaitable[None] | None]


utc_now = utcnow  # the adapters' name for the application clock


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

log = logging.getLogger("pipelet.inverters")


class InverterAdapter(HttpAdapter, ABC):
    """One brand's cloud. Subclasses set the class attributes and implement the abstract methods.

    A crash in a brand's protocol method (KeyError, TypeError... on an unknown shape) becomes
    IntegrationError: our bug or a vendor format we do not know, not the vendor being down. It must not kill
    the poll job, and it must not look like "retry later" either (``integrations.http_adapter``).
    """

    _protocol_methods = (
        "test_credentials",
        "list_systems",
        "list_wallboxes",
        "fetch_snapshot",
        "fetch_native_sessions",
        "fetch_production",
    )
    _log = log
    _party = "cloud"
    _cannot_read = (
        "Pipelet could not read the cloud's answer ({what}). This is a fault in Pipelet's integration, "
        "not in your account; it has been logged for Pipelet's team"
    )

    brand: ClassVar[str]
    display_name: ClassVar[str]
    auth_kind: ClassVar[Literal["oauth2", "api_key", "password"]]
    credential_fields: ClassVar[tuple[CredentialField, ...]]
    supports_native_sessions: ClassVar[bool] = False
    #: the brand's public API gives a system's PV production (``fetch_production``): sites can use it
    supports_production: ClassVar[bool] = False
    #: Secret values in ``credentials`` that must never reach a message (used by redact() and the tests).
    secret_keys: ClassVar[frozenset[str]] = frozenset()

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
        super().__init__(credentials, base_url=base_url, state=state, client=client, timeout_s=timeout_s)
        self.clock: Clock = clock or utc_now
        #: (items read so far, total or None) while a history import spans several calls; None otherwise
        self.sync_progress: tuple[int, int | None] | None = None
        #: the account's quota ledger (``domain.quota``) as the poll job stored it, this poll's own call
        #: already in it (the site-inverter poll job sets it; empty elsewhere). An adapter that makes calls
        #: beyond a poll's cost (a history read asked again after a refusal) checks and records them here,
        #: and the poll job saves it back whatever the poll's outcome: a refusing cloud costs calls all the
        #: same, and a restarted poller must know them
        self.ledger: dict[str, list[float]] = {}

    @property
    def _owner(self) -> str:
        return self.brand

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

    def _json(self, response: httpx.Response) -> Any:
        """The JSON body (see HttpAdapter._json); a server error is BrandUnavailable whatever its body."""
        if response.status_code >= 500:
            raise self._fail(
                f"the cloud answered with a server error ({response.status_code}); the poll will be retried"
            )
        return super()._json(response)

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


def seconds_until_next_month(now: datetime) -> float:
    first = date(now.year + (now.month == 12), now.month % 12 + 1, 1)
    return (datetime(first.year, first.month, 1, tzinfo=UTC) - now).total_seconds()


def seconds_until_next_day(now: datetime) -> float:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()
