"""Inverter poll jobs: poll one PV account, store what it gave, turn it into charging sessions.

These are the job functions of the architecture's worker layer. They do not know where they run: the
embedded deployment calls :func:`poll_due` from a lifespan task of the web app, the scale-out deployment
runs the same functions as arq jobs (``pipelet_app.runtime.jobs``). Everything brand-specific happens in
``inverters.service.poll_account``; everything here is database work.

One account poll, and why it is shaped like this:

1. **Claim** (own short transaction): set a lease on the account row with a conditional UPDATE, so two
   workers never poll one account at once (Huawei even logs the first session out) and a crashed worker's
   account becomes due again when the lease runs out. Then decrypt the credentials.
2. **Poll** (no transaction open): HTTP to the brand's cloud through ``poll_account``, which never raises
   the adapter errors — they become the outcome's status, message and back-off.
3. **Store** (one transaction): UPSERT snapshots into ``c4_pv_snapshots``; reconstruct every polled wallbox
   from its resume point; UPSERT native and reconstructed sessions into ``op_charging_sessions`` by their
   deterministic ``transaction_id``; save re-encrypted credentials, adapter state, quota ledger, status and
   the next poll time; release the lease. A crash before the commit loses only this poll's answer (the
   counters are cumulative, the native cursor was not advanced: the next poll reads it again); a crash after
   it loses nothing; a replay rewrites the same rows. Nothing is ever duplicated.

Transaction ids: ``pv-<brand>-<system>-<serial>-<start-edge epoch s>`` for both paths — the
reconstructor's id with the wallbox serial in its system part, because two chargers of one system polled in
the same request share their snapshot times and so their start edges.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from pipelet_app import metrics
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    ChargingSession,
    PvAccount,
    PvSnapshot,
    PvStatus,
    PvWallbox,
    SessionSource,
)
from pipelet_app.domain import quota as q
from pipelet_app.domain.quota import DEFAULT_POLICY, PollPolicy
from pipelet_app.domain.reconstruct import ReconstructConfig, reconstruct, transaction_id
from pipelet_app.inverters.base import (
    Clock,
    InvalidCredentials,
    InverterError,
    NativeSession,
    ReauthRequired,
    System,
    Throttled,
    Wallbox,
)
from pipelet_app.inverters.credentials import (
    CredentialKeyError,
    decrypt_credentials,
    encrypt_credentials,
    scrub,
)
from pipelet_app.inverters.registry import create_adapter
from pipelet_app.inverters.service import ConnectionStatus, PollOutcome, poll_account
from pipelet_app.settings import get_settings
from pollers import _lease as lease

log = logging.getLogger("pipelet.pollers.pv")

REASON_NATIVE = "pv-native"
REASON_RECONSTRUCTED = "pv-reconstructed"
#: the reconstructor's thresholds for polled wallboxes; its nominal interval follows the brand's poll policy
RECONSTRUCT_CONFIG = ReconstructConfig(interval_s=1800.0)
NO_WALLBOX_MESSAGE = "no charger found in this account's systems yet; Pipelet looks again at every poll"
_CHUNK = 200


@dataclass
class PollReport:
    """What one account poll did: for logs, tests and the arq job result. Contains no secrets."""

    account_id: int
    brand: str
    status: str
    message: str | None = None
    snapshots: int = 0
    sessions_written: int = 0
    sessions_skipped: int = 0
    next_poll_utc: datetime | None = None
    discarded: bool = False  # the account was disconnected while its poll was in flight
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Job:
    account_id: int
    driver_id: int
    brand: str
    credentials: dict[str, Any]
    state: dict[str, Any]
    ledger: dict[str, list[float]]
    failures: int
    tz_name: str | None
    found: list[tuple[System, Wallbox]]
    native_since: dict[str, datetime | None]
    poll_interval_s: float | None = None
    quota_windows: list[dict[str, Any]] | None = None

    @property
    def policy(self) -> PollPolicy:
        return poll_policy(self.brand, self.poll_interval_s)

    @property
    def quota_override(self) -> q.BrandQuota | None:
        return account_quota(self.brand, self.quota_windows)


def id_tag(brand: str) -> str:
    return f"pv-{brand.strip().lower()}"


def system_key(system_id: str, serial: str) -> str:
    """The system part of a transaction id: system and wallbox (see the module docstring)."""
    return f"{system_id}-{serial}"


# ------------------------------------------------------------------------------------------ scheduling


def claim(db: Session, account_id: int, now: datetime, lease_s: float) -> bool:
    """Lease the account to the caller unless another worker holds a live lease. Atomic on both backends."""
    return lease.claim(db, PvAccount, account_id, now, lease_s, _connected())


def due_accounts(db: Session, now: datetime, limit: int = 50) -> list[tuple[int, datetime]]:
    """(account id, its due time) of accounts to poll now, most overdue first; leased ones are skipped."""
    return lease.due(db, PvAccount, now, limit, _connected())


def _connected() -> Any:
    return col(PvAccount.credentials_enc).is_not(None)


def _claim_and_load(account_id: int, now: datetime, lease_s: float) -> _Job | None:
    with session_scope() as db:
        if not claim(db, account_id, now, lease_s):
            return None
        account = db.get(PvAccount, account_id)
        assert account is not None and account.credentials_enc is not None
        try:
            credentials = decrypt_credentials(account.credentials_enc)
        except CredentialKeyError as error:
            log.warning("pv account %s (%s): %s", account_id, account.brand, error)
            account.status, account.message = PvStatus.REAUTH_NEEDED.value, str(error)
            account.next_poll_utc = account.lease_until_utc = None
            account.updated_at = now
            return None
        boxes = db.exec(
            select(PvWallbox).where(PvWallbox.account_id == account_id).order_by(col(PvWallbox.id))
        ).all()
        found = [
            (
                System(b.system_id, b.system_name, b.system_timezone, dict(b.system_extra or {})),
                Wallbox(b.system_id, b.serial, b.device_id, b.name, b.model, dict(b.extra or {})),
            )
            for b in boxes
        ]
        return _Job(
            account_id=account_id,
            driver_id=account.driver_id,
            brand=account.brand,
            credentials=credentials,
            state=copy.deepcopy(account.state or {}),
            ledger=copy.deepcopy(account.ledger or {}),
            failures=account.failures,
            tz_name=account.tz_name,
            found=found,
            native_since={b.serial: b.native_since_utc for b in boxes},
            poll_interval_s=account.poll_interval_s,
            quota_windows=account.quota_windows,
        )


# ------------------------------------------------------------------------------------------- the job


async def poll_pv_account(
    account_id: int,
    *,
    clock: Clock | None = None,
    base_url: str | None = None,
    lease_s: float | None = None,
) -> PollReport | None:
    """Poll one account once (claim → poll → store). None when another worker holds it or it is gone.

    ``clock``/``base_url`` exist for tests against the fakes' simulated time; production passes neither.
    Never raises for anything the brand does; a bug below is logged with its traceback (scrubbed) and becomes
    an INTEGRATION_ERROR status with back-off, so one broken account cannot stop the scheduler and the
    driver sees it is Pipelet's fault, not the vendor's.
    """
    now_fn = clock or utcnow
    lease = lease_s if lease_s is not None else get_settings().pv_poll_lease_s
    job = await asyncio.to_thread(_claim_and_load, account_id, now_fn(), lease)
    if job is None:
        return None
    try:
        if not job.found:
            try:
                job.found = await _rediscover(job, base_url=base_url, clock=clock)
            except InverterError as error:  # the account itself fails: say so, as a poll would
                report = await asyncio.to_thread(_store, job, _failed(job, error, now_fn()), now_fn())
                log.info("pv account %s (%s): discovery failed: %s", account_id, job.brand, report.message)
                return report
        outcome = await poll_account(
            job.brand,
            job.credentials,
            job.found,
            state=job.state,
            ledger=job.ledger,
            failures=job.failures,
            native_since=job.native_since,
            tz_name=job.tz_name,
            account_key=str(account_id),
            policy=job.policy,
            quota_override=job.quota_override,
            base_url=base_url,
            clock=clock,
        )
    except Exception as exc:  # a bug, not a brand answer: keep the scheduler alive, back off, say so
        text = scrub(f"{type(exc).__name__}: {exc}", job.credentials)
        trace = scrub(traceback.format_exc(), job.credentials)
        log.error("pv account %s (%s): poll crashed: %s\n%s", account_id, job.brand, text, trace)
        metrics.POLL_ERRORS.labels(job.brand, "crash").inc()
        return await asyncio.to_thread(_release_after_crash, job, now_fn())
    report = await asyncio.to_thread(_store, job, outcome, now_fn())
    _count(job, outcome, report, now_fn())
    log.info(
        "pv account %s (%s): %s; %d snapshots, %d sessions written; next poll %s",
        account_id,
        job.brand,
        scrub(report.status + (f" ({report.message})" if report.message else ""), job.credentials),
        report.snapshots,
        report.sessions_written,
        report.next_poll_utc.isoformat() if report.next_poll_utc else "when reconnected",
    )
    return report


_FAILED = frozenset({"error", "integration-error", "reauth-needed", "throttled"})


def _count(job: _Job, outcome: Any, report: PollReport, now: datetime) -> None:
    """Metrics of one poll: its status, a failure by kind, and the calls the account has left."""
    metrics.POLLS.labels(job.brand, report.status).inc()
    if report.status in _FAILED:
        metrics.POLL_ERRORS.labels(job.brand, report.status).inc()
    quota = job.quota_override or q.quota_for(job.brand)
    metrics.quota_left(job.brand, job.account_id, q.remaining(outcome.ledger, quota, now))


async def poll_due(
    *,
    clock: Clock | None = None,
    base_url: str | None = None,
    limit: int = 50,
    concurrency: int | None = None,
) -> list[PollReport]:
    """One scheduler tick: poll every due account, a few at a time. What the embedded lifespan task runs."""
    now = (clock or utcnow)()
    due = await asyncio.to_thread(_due, now, limit)

    async def one(account_id: int) -> PollReport | None:
        return await poll_pv_account(account_id, clock=clock, base_url=base_url)

    return await lease.poll_each(
        [account_id for account_id, _ in due],
        one,
        concurrency=concurrency or get_settings().pv_poll_concurrency,
        log=log,
        what="pv account",
    )


def poll_policy(brand: str, account_interval_s: float | None = None) -> PollPolicy:
    """The poll policy: the account's own interval (paid tier), else the brand's entry in
    ``PV_POLL_INTERVALS``, else ``PV_POLL_INTERVAL_S``."""
    settings = get_settings()
    interval = settings.pv_poll_interval_s
    for item in settings.pv_poll_intervals.split(","):
        name, _, seconds = item.partition("=")
        if name.strip().lower() == brand:
            try:
                interval = float(seconds)
            except ValueError:
                log.warning("PV_POLL_INTERVALS: %r is not a number of seconds; using %s", item, interval)
    if account_interval_s is not None:
        interval = account_interval_s
    interval = max(DEFAULT_POLICY.min_interval_s, interval)
    return replace(
        DEFAULT_POLICY,
        base_interval_s=interval,
        night_interval_s=max(DEFAULT_POLICY.night_interval_s, interval),
        session_interval_s=min(DEFAULT_POLICY.session_interval_s, interval),
    )


def account_quota(brand: str, windows: list[dict[str, Any]] | None) -> q.BrandQuota | None:
    """A paid tier's limits stored on the account, with the brand's cost per poll; None = the default."""
    if not windows:
        return None
    default = q.quota_for(brand)
    return replace(
        default,
        windows=tuple(
            q.Window(int(w["limit"]), float(w["period_s"]), str(w.get("kind", q.REQUEST))) for w in windows
        ),
    )


def _due(now: datetime, limit: int) -> list[tuple[int, datetime]]:
    with session_scope() as db:
        return due_accounts(db, now, limit)


async def _rediscover(
    job: _Job, *, base_url: str | None, clock: Clock | None
) -> list[tuple[System, Wallbox]]:
    """An account coupled before its charger was installed: look for one again (costs a discovery)."""
    async with create_adapter(
        job.brand, job.credentials, base_url=base_url, state=job.state, clock=clock
    ) as adapter:
        found = await adapter.discover()
        if adapter.credentials_changed:
            job.credentials = dict(adapter.credentials)
    if found:
        await asyncio.to_thread(save_wallboxes, job.account_id, found)
        job.native_since = {box.serial: None for _, box in found}
    return found


def _failed(job: _Job, error: InverterError, now: datetime) -> PollOutcome:
    """The outcome of a poll that failed before ``poll_account`` ran (discovery), classified the same way."""
    failures = job.failures + 1
    if isinstance(error, InvalidCredentials | ReauthRequired):
        return PollOutcome(
            ConnectionStatus.REAUTH_NEEDED, str(error), state=job.state, ledger=job.ledger, failures=failures
        )
    wait = max(job.policy.base_interval_s, q.backoff_s(failures, jitter_key=str(job.account_id)))
    if isinstance(error, Throttled):
        wait = max(wait, error.retry_after_s)
    return PollOutcome(
        ConnectionStatus(lease.failure_status(error)),
        str(error),
        state=job.state,
        ledger=job.ledger,
        failures=failures,
        next_poll_utc=now + timedelta(seconds=wait),
    )


def save_wallboxes(account_id: int, found: Sequence[tuple[System, Wallbox]]) -> None:
    with session_scope() as db:
        sync_wallboxes(db, account_id, found)


def sync_wallboxes(db: Session, account_id: int, found: Sequence[tuple[System, Wallbox]]) -> None:
    """Make the account's wallbox rows match ``found``: keep known ones (and their resume points)."""
    existing = {
        (b.system_id, b.serial): b
        for b in db.exec(select(PvWallbox).where(PvWallbox.account_id == account_id)).all()
    }
    seen = set()
    for system, box in found:
        key = (system.system_id, box.serial)
        seen.add(key)
        row = existing.get(key) or PvWallbox(
            account_id=account_id, system_id=system.system_id, serial=box.serial, device_id=box.device_id
        )
        row.system_name, row.system_timezone = system.name, system.timezone
        row.system_extra, row.extra = dict(system.extra), dict(box.extra)
        row.device_id, row.name, row.model = box.device_id, box.name, box.model
        db.add(row)
    for key, row in existing.items():
        if key not in seen:
            db.delete(row)
    db.flush()


# ------------------------------------------------------------------------------------------ storing


def _release_after_crash(job: _Job, now: datetime) -> PollReport:
    failures = job.failures + 1
    next_poll = now + timedelta(seconds=q.backoff_s(failures, jitter_key=str(job.account_id)))
    with session_scope() as db:
        account = db.get(PvAccount, job.account_id)
        if account is None:
            return PollReport(job.account_id, job.brand, PvStatus.INTEGRATION_ERROR.value, discarded=True)
        account.status = PvStatus.INTEGRATION_ERROR.value
        account.message = (
            "Pipelet hit an internal fault while reading this account (logged for Pipelet's team); "
            "it will try again later"
        )
        account.failures, account.next_poll_utc, account.lease_until_utc = failures, next_poll, None
        account.last_poll_utc = account.updated_at = now
    return PollReport(
        job.account_id, job.brand, PvStatus.INTEGRATION_ERROR.value, account.message, next_poll_utc=next_poll
    )


def _store(job: _Job, outcome: PollOutcome, now: datetime) -> PollReport:
    report = PollReport(job.account_id, job.brand, outcome.status.value, outcome.message)
    with session_scope() as db:
        account = db.get(PvAccount, job.account_id, with_for_update=True)
        if account is None or account.credentials_enc is None:
            report.discarded = True  # disconnected meanwhile: its credentials and snapshots are gone
            return report
        boxes = {
            (b.system_id, b.serial): b
            for b in db.exec(select(PvWallbox).where(PvWallbox.account_id == job.account_id)).all()
        }
        report.snapshots = _upsert_snapshots(db, job.account_id, outcome)
        rows: list[dict[str, Any]] = []
        for wallbox in _unique(box for box, _ in outcome.snapshots):
            row = boxes.get((wallbox.system_id, wallbox.serial))
            if row is not None:
                rows.extend(_reconstructed(db, job, row, report))
        for wallbox, natives in outcome.native_sessions:
            row = boxes.get((wallbox.system_id, wallbox.serial))
            if row is None:
                continue
            rows.extend(_native_row(job, row, session, now) for session in natives)
            newest = max((s.start_utc for s in natives), default=None)
            if newest is not None and (row.native_since_utc is None or newest > row.native_since_utc):
                row.native_since_utc = newest
                db.add(row)
        for values in rows:
            values["updated_at"] = now
        report.sessions_written, report.sessions_skipped = _upsert_sessions(db, rows)
        if report.sessions_skipped:
            log.warning(
                "pv account %s (%s): %d sessions collide with rows of another driver or source; left alone",
                job.account_id,
                job.brand,
                report.sessions_skipped,
            )
        _save_outcome(account, outcome, now, has_wallboxes=bool(boxes), credentials=job.credentials)
        report.message, report.next_poll_utc = account.message, account.next_poll_utc
    return report


def _save_outcome(
    account: PvAccount,
    outcome: PollOutcome,
    now: datetime,
    *,
    has_wallboxes: bool,
    credentials: dict[str, Any],
) -> None:
    # Re-encrypted on every poll, not only when tokens changed: a key rotation (old key moved to
    # PIPELET_SECRET_KEY_PREVIOUS) then completes by itself within one poll cycle.
    account.credentials_enc = encrypt_credentials(
        outcome.credentials if outcome.credentials is not None else credentials
    )
    account.state = copy.deepcopy(outcome.state)
    account.ledger = copy.deepcopy(dict(outcome.ledger))
    flag_modified(account, "state")
    flag_modified(account, "ledger")
    account.failures = outcome.failures
    account.status = PvStatus(outcome.status.value).value
    account.message = outcome.message
    if outcome.status is ConnectionStatus.CONNECTED and not has_wallboxes:
        account.message = NO_WALLBOX_MESSAGE
    done, total = outcome.progress if outcome.progress else (None, None)
    account.progress_done, account.progress_total = done, total
    account.last_poll_utc = account.updated_at = now
    if outcome.status in (ConnectionStatus.CONNECTED, ConnectionStatus.SYNCING):
        account.last_sync_utc = now
    account.next_poll_utc = outcome.next_poll_utc
    account.lease_until_utc = None


def _unique(boxes: Iterable[Wallbox]) -> list[Wallbox]:
    seen: dict[tuple[str, str], Wallbox] = {}
    for box in boxes:
        seen.setdefault((box.system_id, box.serial), box)
    return list(seen.values())


def _reconstructed(db: Session, job: _Job, box: PvWallbox, report: PollReport) -> list[dict[str, Any]]:
    """Reconstruct one wallbox from its resume point over the stored snapshots; advance the resume point."""
    query = select(PvSnapshot).where(PvSnapshot.account_id == job.account_id, PvSnapshot.serial == box.serial)
    if box.resume_from_utc is not None:
        query = query.where(PvSnapshot.time_utc >= box.resume_from_utc)  # type: ignore[operator]
    snapshots = db.exec(query.order_by(PvSnapshot.time_utc)).all()  # type: ignore[arg-type]
    config = replace(RECONSTRUCT_CONFIG, interval_s=job.policy.base_interval_s)
    result = reconstruct(
        snapshots, brand=job.brand, system=system_key(box.system_id, box.serial), config=config
    )
    for warning in result.warnings:
        if warning.code not in ("too-few-snapshots", "noise", "started-before-data"):
            report.warnings.append(str(warning))
            log.info("pv account %s (%s) wallbox %s: %s", job.account_id, job.brand, box.serial, warning)
    if result.resume_from_utc is not None:
        box.resume_from_utc = result.resume_from_utc
        db.add(box)
    return [
        {
            "transaction_id": s.transaction_id,
            "station_id": box.serial,
            "id_tag": id_tag(job.brand),
            "reason": REASON_RECONSTRUCTED,
            "source": SessionSource.PV_INVERTER,
            "driver_id": job.driver_id,
            "start_utc": s.start_utc,
            "end_utc": s.end_utc,
            "meter_start_wh": s.meter_start_wh,
            "meter_stop_wh": s.meter_stop_wh,
            "energy_wh": s.energy_wh,
            "cost": None,
        }
        for s in result.sessions
    ]


def _native_row(job: _Job, box: PvWallbox, session: NativeSession, now: datetime) -> dict[str, Any]:
    return {
        "transaction_id": transaction_id(job.brand, system_key(box.system_id, box.serial), session.start_utc),
        "station_id": box.serial,
        "id_tag": id_tag(job.brand),
        "reason": REASON_NATIVE,
        "source": SessionSource.PV_INVERTER,
        "driver_id": job.driver_id,
        "start_utc": session.start_utc,
        "end_utc": session.end_utc,
        "meter_start_wh": None,
        "meter_stop_wh": None,
        "energy_wh": session.energy_wh,
        "cost": session.cost,
    }


def _upsert_snapshots(db: Session, account_id: int, outcome: PollOutcome) -> int:
    rows = {
        (box.serial, snap.time_utc): {
            "account_id": account_id,
            "serial": box.serial,
            "time_utc": snap.time_utc,
            "lifetime_wh": float(snap.lifetime_wh),
            "power_w": snap.power_w,
            "status": snap.status,
        }
        for box, snap in outcome.snapshots
    }
    if not rows:
        return 0
    table = PvSnapshot.__table__  # type: ignore[attr-defined]
    stmt = lease.insert(db, table).values(list(rows.values()))
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id", "serial", "time_utc"],
        set_={name: stmt.excluded[name] for name in ("lifetime_wh", "power_w", "status")},
    )
    db.execute(stmt)
    return len(rows)


_SESSION_UPDATES = (
    "station_id",
    "id_tag",
    "reason",
    "start_utc",
    "end_utc",
    "meter_start_wh",
    "meter_stop_wh",
    "energy_wh",
    "cost",
    "updated_at",
)


def _upsert_sessions(db: Session, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """UPSERT by transaction_id; a row of another driver or another source is never overwritten.

    Returns (rows written, rows left alone because they belong to someone else).
    """
    unique = list(
        {row["transaction_id"]: row for row in rows}.values()
    )  # one INSERT must not hit a key twice
    table = ChargingSession.__table__  # type: ignore[attr-defined]
    written = 0
    for start in range(0, len(unique), _CHUNK):
        chunk = [
            {"started_offline": False, "currency": "EUR", "charger_id": None, "connector_id": None, **row}
            for row in unique[start : start + _CHUNK]
        ]
        stmt = lease.insert(db, table).values(chunk)
        stmt = stmt.on_conflict_do_update(
            index_elements=["transaction_id"],
            set_={name: stmt.excluded[name] for name in _SESSION_UPDATES},
            where=(table.c.source == SessionSource.PV_INVERTER)
            & (table.c.driver_id == stmt.excluded.driver_id),
        )
        # RETURNING counts what was written on both backends (rowcount is -1 for psycopg here)
        written += len(db.execute(stmt.returning(table.c.id)).all())
    return written, len(unique) - written
