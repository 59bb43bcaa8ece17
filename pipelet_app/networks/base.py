"""The adapter protocol every charging network implements, and the plumbing they share.

Why the same shape as the inverter brands (``pipelet_app.inverters``): the poll job and the operator's connect
flow must not know which network they talk to. Each network module turns its API's auth, paging, units and
error dialect into three calls (``test_credentials``, ``discover``, ``fetch_sessions``) and the same five
errors, which are the inverter ones (``inverters.base``: one taxonomy, one set of operator-facing texts):

* :class:`InvalidCredentials` / :class:`ReauthRequired`: the network refused the key; the operator connects
  the account again;
* :class:`Throttled` (429 + Retry-After) and :class:`BrandUnavailable` (5xx, timeout, maintenance page):
  retry later, the account's next poll waits;
* :class:`IntegrationError`: the network answered and we could not read the answer's *structure* (its list
  is gone, the envelope changed). A developer must look.

One bad *row* (a session without its start time, a charger without its id, a connector the network throttled
past our retries) is not an account failure: the adapter returns it as a :class:`SkippedRow` naming the row
and the reason, the poll stores the good rows and shows the skipped ones. Nothing of a skipped row is saved.

Error texts never contain a secret or a raw answer: the poll job logs and shows them to the operator.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal, TypeVar

import httpx

from pipelet_app.clock import utcnow
from pipelet_app.integrations.http_adapter import HttpAdapter
from pipelet_app.inverters.base import (
    BrandUnavailable,
    CredentialField,
    IntegrationError,
    InvalidCredentials,
    InverterError,
    ReauthRequired,
    Throttled,
    parse_time,
)

__all__ = [
    "BrandUnavailable",
    "CredentialField",
    "IntegrationError",
    "InvalidCredentials",
    "InverterError",
    "NetworkAdapter",
    "NetworkCharger",
    "NetworkSession",
    "ReauthRequired",
    "SessionBatch",
    "SkippedRow",
    "Throttled",
]

log = logging.getLogger("pipelet.networks")
Sleep = Callable[[float], Awaitable[None]]
MAX_PAGES = 200  # a network that keeps answering "more" past this is looping: stop, say so
#: how long an adapter waits itself for a Retry-After before giving the whole wait to the scheduler
MAX_INLINE_WAIT_S = 30.0
#: a first poll reads this far back; later ones read OVERLAP before the cursor (late edits are read again)
FIRST_SYNC_DAYS = 30
OVERLAP = timedelta(hours=2)
T = TypeVar("T")


class RowError(Exception):
    """One row of an answer cannot be used; its text names the field (never the value)."""


# ---------------------------------------------------------------------------------------- data shapes


@dataclass(frozen=True)
class NetworkCharger:
    """A charger the network reports for the account, with the site (location) it stands at.

    ``external_id`` is the network's handle (used in its URLs and in its sessions); ``serial`` and ``vendor``
    identify the hardware, so the poll job can link it to a charger this CSMS knows (same tenant).
    """

    external_id: str
    name: str = ""
    site_id: str = ""
    site_name: str = ""
    vendor: str = ""
    model: str = ""
    serial: str = ""
    connectors: tuple[str, ...] = ()
    timezone: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class NetworkSession:
    """A session as the network recorded it. Times UTC, energy Wh; ``cost`` exact in ``currency``."""

    session_id: str
    charger_external_id: str
    connector: str | None
    start_utc: datetime
    end_utc: datetime | None
    energy_wh: float
    id_tag: str = ""
    meter_start_wh: float | None = None
    meter_stop_wh: float | None = None
    cost: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class SkippedRow:
    """A row the poll left out, and why (shown on the console page; no values, only the row's id)."""

    kind: Literal["charger", "session", "connector"]
    ref: str
    reason: str


@dataclass
class SessionBatch:
    """What one ``fetch_sessions`` call read: sessions to store, rows skipped, and the cursor to save with
    them (``state``; saved in the same transaction as the sessions, so a crash re-reads, never loses)."""

    sessions: list[NetworkSession] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ row helpers


def row_text(row: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = row.get(name) if isinstance(row, Mapping) else None
    if value is None or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(f"no '{name}'")
        return ""
    if isinstance(value, dict | list):
        raise RowError(f"'{name}' is not a text or number")
    return str(value).strip()


def row_time(row: Mapping[str, Any], name: str, *, required: bool = True) -> datetime | None:
    value = row.get(name) if isinstance(row, Mapping) else None
    if value in (None, ""):
        if required:
            raise RowError(f"no '{name}'")
        return None
    try:
        return parse_time(value)
    except (TypeError, ValueError, OverflowError, OSError):
        raise RowError(f"'{name}' is not a time") from None


def row_number(row: Mapping[str, Any], name: str, *, required: bool = True) -> float | None:
    value = row.get(name) if isinstance(row, Mapping) else None
    if value in (None, ""):
        if required:
            raise RowError(f"no '{name}'")
        return None
    if isinstance(value, bool):
        raise RowError(f"'{name}' is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RowError(f"'{name}' is not a number") from None
    if number != number or number in (float("inf"), float("-inf")) or abs(number) > 1e12:
        raise RowError(f"'{name}' is not a finite number")
    return number


def row_money(value: Any, name: str) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise RowError(f"'{name}' is not an amount")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise RowError(f"'{name}' is not an amount") from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e9"):
        raise RowError(f"'{name}' is not a finite amount")
    return amount.quantize(Decimal("0.001"))


def parse_rows(
    rows: list[Any],
    parse: Callable[[Any], T],
    kind: Literal["charger", "session"],
    id_field: str,
    skipped: list[SkippedRow],
) -> list[T]:
    """Each row parsed; a row ``parse`` refuses (RowError) goes to ``skipped`` with its id and reason, the
    others go on. A row that is not an object is refused here, once for every adapter: a parser reading
    it with ``.get`` would raise AttributeError and end the whole account's poll."""
    parsed: list[T] = []
    for row in rows:
        try:
            if not isinstance(row, dict):
                raise RowError("not an object")
            parsed.append(parse(row))
        except RowError as error:
            ref = str(row.get(id_field, "?")) if isinstance(row, dict) else "?"
            skipped.append(SkippedRow(kind, ref, str(error)))
    return parsed


def checked_session(session: NetworkSession) -> NetworkSession:
    """Plausibility a network's row must pass before it is stored: ends after it starts, energy ≥ 0."""
    if session.end_utc is not None and session.end_utc < session.start_utc:
        raise RowError("ends before it starts")
    if session.energy_wh < 0:
        raise RowError("negative energy")
    return session


# --------------------------------------------------------------------------------------- the protocol


class NetworkAdapter(HttpAdapter, ABC):
    """One network's API. Subclasses set the class attributes and implement the three calls; a crash in
    one of them becomes IntegrationError, as for the inverter brands (``integrations.http_adapter``)."""

    _protocol_methods = ("test_credentials", "discover", "fetch_sessions")
    _log = log
    _party = "network"
    _cannot_read = "Pipelet could not read the network's answer ({what}); logged for Pipelet's team"

    network: ClassVar[str]
    display_name: ClassVar[str]
    auth_kind: ClassVar[Literal["oauth2", "bearer", "soap-wss", "api_key"]]
    credential_fields: ClassVar[tuple[CredentialField, ...]]
    #: where the shapes come from (docs/networks.md repeats it); honest about what is not public
    source_note: ClassVar[str] = ""

    def __init__(
        self,
        credentials: Mapping[str, Any],
        *,
        base_url: str | None = None,
        state: dict[str, Any] | None = None,
        client: httpx.AsyncClient | None = None,
        sleep: Sleep | None = None,
        timeout_s: float = 20.0,
    ) -> None:
        if base_url is None:
            from pipelet_app.settings import get_settings

            base_url = get_settings().network_api_base(self.network)
        if not base_url:
            raise BrandUnavailable(
                self.network,
                f"{self.network.upper()}_API_BASE is not set: Pipelet does not know where to call",
            )
        super().__init__(credentials, base_url=base_url, state=state, client=client, timeout_s=timeout_s)
        self.sleep: Sleep = sleep or asyncio.sleep

    @property
    def _owner(self) -> str:
        return self.network

    # ---- the protocol ------------------------------------------------------------------------------

    @abstractmethod
    async def test_credentials(self) -> None:
        """The live test of the connect call: returns when the credentials work, raises otherwise."""

    @abstractmethod
    async def discover(self) -> tuple[list[NetworkCharger], list[SkippedRow]]:
        """Every charger of the account (location discovery + charger identification), and rows skipped."""

    @abstractmethod
    async def fetch_sessions(self, chargers: list[NetworkCharger], now: datetime) -> SessionBatch:
        """Sessions since the cursor in ``self.state``; the returned batch carries the advanced cursor."""

    # ---- shared HTTP plumbing ----------------------------------------------------------------------

    def _check(self, response: httpx.Response, *, auth_error: type[InverterError] = ReauthRequired) -> None:
        """Map the status line to the taxonomy: 401/403 → ``auth_error``, 429 → Throttled, 5xx → retry."""
        code = response.status_code
        if code in (401, 403):
            raise auth_error(
                self.network, f"the network refused the credentials ({code}); connect the account again"
            )
        if code == 429:
            wait = self.retry_after_header(response, 60.0)
            raise Throttled(
                self.network, f"the network is throttling requests; retrying after {wait:.0f} s", wait
            )
        if code >= 500:
            raise self._fail(f"the network answered with a server error ({code}); the poll will be retried")
        if code >= 400:
            raise self._unknown_shape(f"HTTP {code} for a documented request")

    def _list(self, body: Any, *path: str) -> list[Any]:
        """``body[path...]`` as a list, or IntegrationError naming the field (the envelope changed)."""
        current = body
        for step in path:
            if not isinstance(current, Mapping) or step not in current:
                raise self._unknown_shape(f"no field '{'.'.join(path)}'")
            current = current[step]
        if current is None:
            return []
        if not isinstance(current, list):
            raise self._unknown_shape(f"'{'.'.join(path)}' is not a list")
        return current

    async def _paged(
        self, what: str, page: Callable[[int, int], Awaitable[tuple[list[Any], bool]]]
    ) -> list[Any]:
        """Every page's rows: ``page(number, rows so far)`` reads one page and says whether more follow.
        A network that still says "more" after MAX_PAGES pages is looping: the poll fails and says so."""
        rows: list[Any] = []
        for number in range(MAX_PAGES):
            found, more = await page(number, len(rows))
            rows.extend(found)
            if not more:
                return rows
        raise self._fail(f"more than {MAX_PAGES} pages of {what}; will retry later")

    async def _with_retry(
        self, call: Callable[[], Awaitable[httpx.Response]], *, attempts: int = 3, base_delay_s: float = 1.0
    ) -> httpx.Response:
        """``call()`` again after a 429 (waiting its Retry-After, up to MAX_INLINE_WAIT_S) or a 5xx / timeout
        (exponential back-off); the last failure is raised as the taxonomy says."""
        delay = base_delay_s
        for attempt in range(1, attempts + 1):
            try:
                response = await call()
                self._check(response)
                return response
            except Throttled as error:
                if attempt == attempts or error.retry_after_s > MAX_INLINE_WAIT_S:
                    raise
                await self.sleep(error.retry_after_s)
            except BrandUnavailable:
                if attempt == attempts:
                    raise
                await self.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover


#: an open session older than this no longer holds the cursor back (a network that never ends a session
#: must not make every poll re-read from that day on); a later end of it is then not seen
OPEN_HOLD = timedelta(days=7)


def session_cursor(
    sessions: list[NetworkSession], previous: datetime | None, now: datetime | None = None
) -> datetime | None:
    """Where the next poll reads from: the newest start seen, but never past a session still open (it must be
    read again until it ends), unless it opened more than OPEN_HOLD before ``now``. The adapters read an
    overlap before it too; the UPSERT makes re-reading harmless."""
    open_starts = [
        s.start_utc for s in sessions if s.end_utc is None and (now is None or s.start_utc >= now - OPEN_HOLD)
    ]
    starts = [s.start_utc for s in sessions]
    if not starts:
        return previous
    cursor = max(starts)
    if previous is not None:
        cursor = max(cursor, previous)
    if open_starts:
        cursor = min(cursor, min(open_starts))
    return cursor


def read_from(since: str | None, now: datetime) -> datetime:
    """Where a session read starts: OVERLAP before the saved cursor, or FIRST_SYNC_DAYS back at first."""
    return parse_time(since) - OVERLAP if since else now - timedelta(days=FIRST_SYNC_DAYS)


def save_cursor(
    cursors: dict[str, Any], key: str, sessions: list[NetworkSession], since: str | None, now: datetime
) -> None:
    """Advance ``cursors[key]`` over the sessions just read (see :func:`session_cursor`)."""
    cursor = session_cursor(sessions, parse_time(since) if since else None, now)
    if cursor is not None:
        cursors[key] = cursor.isoformat()


def utc_now() -> datetime:
    return utcnow()


# ------------------------------------------------------------------------------- the network's marker


def transaction_prefix(network: str, tenant_id: int) -> str:
    """The start of every transaction id a network's sessions get in ``op_charging_sessions``."""
    return f"net-{network}-t{tenant_id}-"


def transaction_id(network: str, tenant_id: int, session_id: str) -> str:
    """Deterministic: the same network session in the same tenant is always the same row."""
    return f"{transaction_prefix(network, tenant_id)}{session_id}"


def session_reason(network: str) -> str:
    return f"network-{network}"
