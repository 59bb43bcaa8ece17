"""What the connect flow and the poll job call: brand-agnostic, no database, no scheduling of its own.

Why this layer: the adapters speak one protocol but raise four errors, update credentials and state, and
spend quota. Turning that into "what to store, what to show the driver, when to come back" is the same for
every brand, so it lives once here and the job (DB + scheduler) and the UI stay thin:

* :func:`connect` — the live test call before saving: credentials check plus wallbox discovery;
* :func:`poll_account` — one poll of one account: native sessions (Enphase) or counter snapshots (others),
  the connection status for the driver, the credentials/state/ledger to save, and the next poll time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx

from pipelet_app.domain import quota as q
from pipelet_app.inverters.base import (
    BrandUnavailable,
    Clock,
    CounterSnapshot,
    IntegrationError,
    InvalidCredentials,
    InverterAdapter,
    NativeSession,
    ProgressCallback,
    ReauthRequired,
    System,
    Throttled,
    Wallbox,
    utc_now,
)
from pipelet_app.inverters.registry import adapter_class

log = logging.getLogger("pipelet.inverters")

#: a counter rising by at least this much between two polls means a session is running
RISING_WH = 10.0
#: while importing history: come back after this long, once this many requests fit the quota
SYNC_AGAIN_S = 60.0
SYNC_AGAIN_COST = 8
#: power at or above this means charging (below: standby draw, measurement noise)
CHARGING_W = 50.0


class ConnectionStatus(StrEnum):
    CONNECTED = "connected"
    SYNCING = "syncing"  # a history import is under way: ``PollOutcome.progress`` says how far
    THROTTLED = "throttled"
    ERROR = "error"  # the vendor is unavailable: retried later
    INTEGRATION_ERROR = "integration-error"  # our adapter could not read the answer: a bug, logged
    REAUTH_NEEDED = "reauth-needed"


@dataclass
class ConnectResult:
    """A successful connect: what to encrypt and store, and the chargers found (may be empty)."""

    credentials: dict[str, Any]
    state: dict[str, Any]
    found: list[tuple[System, Wallbox]]


@dataclass
class PollOutcome:
    """Everything one poll produced. The job stores each non-None part and schedules ``next_poll_utc``."""

    status: ConnectionStatus
    #: driver-facing and log-safe (no secrets); None when all went well
    message: str | None
    snapshots: list[tuple[Wallbox, CounterSnapshot]] = field(default_factory=list)
    native_sessions: list[tuple[Wallbox, list[NativeSession]]] = field(default_factory=list)
    #: new credentials to re-encrypt (tokens refreshed), None when unchanged
    credentials: dict[str, Any] | None = None
    state: dict[str, Any] = field(default_factory=dict)
    ledger: q.Ledger = field(default_factory=dict)
    failures: int = 0
    retry_after_s: float | None = None
    session_active: bool = False
    requests: int = 0
    next_poll_utc: datetime | None = None
    #: (items imported, total or None) while SYNCING
    progress: tuple[int, int | None] | None = None


def _client(counter: list[int], timeout_s: float) -> httpx.AsyncClient:
    async def count(_: httpx.Request) -> None:
        counter[0] += 1

    from pipelet_app.integrations.http_adapter import _ssl_context

    return httpx.AsyncClient(
        timeout=timeout_s, follow_redirects=False, verify=_ssl_context(), event_hooks={"request": [count]}
    )


async def connect(
    brand: str,
    credentials: Mapping[str, Any],
    *,
    base_url: str | None = None,
    clock: Clock | None = None,
    timeout_s: float = 20.0,
) -> ConnectResult:
    """Test the credentials live and discover wallboxes. Save nothing unless this returns.

    Raises InvalidCredentials (the form says "wrong key or password" with the error's text), Throttled or
    BrandUnavailable (the form says "try again later" with the error's text), IntegrationError (the form
    says it is Pipelet's fault; the traceback is logged).
    """
    adapter = adapter_class(brand)(dict(credentials), base_url=base_url, clock=clock, timeout_s=timeout_s)
    async with adapter:
        await adapter.test_credentials()
        found = await adapter.discover()
        return ConnectResult(credentials=dict(adapter.credentials), state=adapter.state, found=found)


def _charging(previous_wh: float | None, snapshot: CounterSnapshot) -> bool:
    if snapshot.power_w is not None:
        return snapshot.power_w >= CHARGING_W
    if previous_wh is not None and snapshot.lifetime_wh - previous_wh >= RISING_WH:
        return True
    status = (snapshot.status or "").lower()
    return "charging" in status and not status.startswith(("not", "no "))


async def poll_account(
    brand: str,
    credentials: Mapping[str, Any],
    wallboxes: Sequence[tuple[System, Wallbox]],
    *,
    state: dict[str, Any] | None = None,
    ledger: Mapping[str, list[float]] | None = None,
    failures: int = 0,
    native_since: Mapping[str, datetime | None] | None = None,
    on_progress: ProgressCallback | None = None,
    tz_name: str | None = None,
    quota_override: q.BrandQuota | None = None,
    policy: q.PollPolicy = q.DEFAULT_POLICY,
    account_key: str = "",
    base_url: str | None = None,
    clock: Clock | None = None,
    timeout_s: float = 20.0,
) -> PollOutcome:
    """Poll one account's wallboxes once. Never raises the adapter errors: they become the outcome's status.

    ``native_since``: per wallbox serial, the newest imported native session start (None → full history).
    ``failures``: consecutive failed polls so far (stored by the job; the outcome says the new count).
    """
    now_fn = clock or utc_now
    cls = adapter_class(brand)
    quota = q.quota_for(brand, quota_override)
    counter = [0]
    state = state if state is not None else {}
    memory = state.setdefault("_poll", {})
    outcome = PollOutcome(status=ConnectionStatus.CONNECTED, message=None, state=state)
    http = _client(counter, timeout_s)
    adapter: InverterAdapter = cls(
        dict(credentials), base_url=base_url, state=state, client=http, clock=clock
    )
    try:
        for system, wallbox in wallboxes:
            if cls.supports_native_sessions:
                since = (native_since or {}).get(wallbox.serial)
                sessions = await adapter.fetch_native_sessions(
                    system, wallbox, since=since, on_progress=on_progress
                )
                outcome.native_sessions.append((wallbox, sessions))
                newest = max((s.end_utc or s.start_utc for s in sessions), default=None)
                if newest is not None and now_fn() - newest < timedelta(hours=1):
                    outcome.session_active = True
            else:
                snapshot = await adapter.fetch_snapshot(system, wallbox)
                outcome.snapshots.append((wallbox, snapshot))
                previous = memory.get(wallbox.serial)
                outcome.session_active |= _charging(previous, snapshot)
                memory[wallbox.serial] = snapshot.lifetime_wh
        outcome.failures = 0
        if adapter.sync_progress is not None:
            done, total = adapter.sync_progress
            outcome.status, outcome.progress = ConnectionStatus.SYNCING, adapter.sync_progress
            outcome.message = f"importing the charging history: {done}" + (f" of {total}" if total else "")
    except Throttled as error:
        outcome.status, outcome.message = ConnectionStatus.THROTTLED, str(error)
        outcome.retry_after_s, outcome.failures = error.retry_after_s, failures + 1
    except (InvalidCredentials, ReauthRequired) as error:
        outcome.status, outcome.message, outcome.failures = (
            ConnectionStatus.REAUTH_NEEDED,
            str(error),
            failures + 1,
        )
    except BrandUnavailable as error:
        outcome.status, outcome.message, outcome.failures = ConnectionStatus.ERROR, str(error), failures + 1
    except IntegrationError as error:  # traceback already logged where it was raised
        outcome.status, outcome.message = ConnectionStatus.INTEGRATION_ERROR, str(error)
        outcome.failures = failures + 1
    finally:
        await http.aclose()
    if adapter.credentials_changed:
        outcome.credentials = dict(adapter.credentials)
    now = now_fn()
    outcome.requests = counter[0]
    spent = (
        q.spend(ledger or {}, quota, now, q.REQUEST, counter[0])
        if counter[0]
        else q.prune(ledger or {}, quota, now)
    )
    for kind, n in quota.cost().items():
        if kind != q.REQUEST and counter[0]:
            spent = q.spend(spent, quota, now, kind, n)
    outcome.ledger = spent
    if outcome.status is ConnectionStatus.REAUTH_NEEDED:
        outcome.next_poll_utc = None  # nothing to poll until the driver couples again
    elif outcome.status is ConnectionStatus.SYNCING:  # continue the import as soon as the quota allows
        soon = now + timedelta(seconds=SYNC_AGAIN_S)
        outcome.next_poll_utc = max(soon, q.next_allowed(spent, quota, soon, {q.REQUEST: SYNC_AGAIN_COST}))
    else:
        outcome.next_poll_utc = q.next_poll_time(
            now,
            quota=quota,
            ledger=spent,
            session_active=outcome.session_active,
            tz_name=tz_name,
            failures=outcome.failures,
            retry_after_s=outcome.retry_after_s,
            wallboxes=max(1, len(wallboxes)),
            policy=policy,
            jitter_key=account_key,
        )
    return outcome
