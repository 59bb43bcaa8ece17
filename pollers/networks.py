"""Network poll jobs: read one operator's network account, store its chargers and sessions.

Shaped like ``pollers.pv`` (see its docstring), and for the same reasons:

1. **Claim** (own short transaction): a conditional UPDATE leases the account, so two workers never poll one
   account at once and a crashed worker's account is due again once its lease runs out. Decrypt.
2. **Poll** (no transaction open): discovery, then sessions since the adapter's cursor. Any adapter error
   (refused key, 429, 5xx, changed envelope) ends the poll *before anything is stored*: the account shows
   the cause, and waits (Retry-After, back-off) — nothing half-saved. One bad row is not an error: the
   adapter skips it with its reason and the good rows go on.
3. **Store** (one transaction): UPSERT the chargers, link each to the tenant's own charger with the same
   vendor and serial, UPSERT the sessions into ``op_charging_sessions`` by their deterministic
   transaction id, save the cursor with them, the status, the skipped rows, release the lease. A crash
   before the commit leaves the old cursor (the next poll reads the same sessions again); after it nothing
   is lost; a replay rewrites the same rows. Never a duplicate.

Transaction ids: ``net-<network>-t<tenant id>-<the network's session id>``: the network's own marker (also in
``reason = network-<network>`` and ``source = network``), the tenant keeping two tenants that connect the
same network account apart, and stable across a disconnect and reconnect of the account.

A failing account never stops the others: :func:`poll_due` polls each in its own task and every failure,
even a bug, becomes that account's status (with its cause) and back-off.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from pipelet_app import metrics
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    NetworkAccount,
    NetworkChargerRow,
    NetworkStatus,
    SessionSource,
)
from pipelet_app.domain import quota as q
from pipelet_app.inverters.credentials import (
    CredentialKeyError,
    decrypt_credentials,
    encrypt_credentials,
    scrub,
)
from pipelet_app.networks.base import (
    IntegrationError,
    InverterError,
    NetworkCharger,
    NetworkSession,
    SessionBatch,
    SkippedRow,
    Sleep,
    Throttled,
    transaction_id,
    transaction_prefix,
)
from pipelet_app.networks.base import (
    session_reason as reason,
)
from pipelet_app.networks.registry import create_adapter
from pipelet_app.services.networks import station_sites
from pipelet_app.settings import get_settings
from pollers import _lease as lease

log = logging.getLogger("pipelet.pollers.networks")

LEASE_S = 600.0
MAX_SKIPPED_SHOWN = 50
_CHUNK = 200


@dataclass
class NetworkPollReport:
    """What one poll did (logs, tests, the arq job result). No secrets."""

    account_id: int
    network: str
    status: str
    message: str | None = None
    chargers: int = 0
    sessions_written: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)
    next_poll_utc: datetime | None = None
    discarded: bool = False


@dataclass
class _Job:
    account_id: int
    tenant_id: int
    network: str
    credentials: dict[str, Any]
    state: dict[str, Any]
    failures: int
    #: the ciphertext the poll started from: another one at store time means the operator replaced the
    #: credentials meanwhile, and this poll (old credentials) must neither overwrite them nor mark them bad
    loaded_enc: str = ""


# ------------------------------------------------------------------------------------------ scheduling


def claim(db: Session, account_id: int, now: datetime, lease_s: float) -> bool:
    """Lease the account unless another worker holds a live lease. Atomic on both backends."""
    return lease.claim(db, NetworkAccount, account_id, now, lease_s, _connected())


def due_accounts(db: Session, now: datetime, limit: int = 50) -> list[tuple[int, datetime]]:
    return lease.due(db, NetworkAccount, now, limit, _connected())


def _connected() -> Any:
    return col(NetworkAccount.credentials_enc).is_not(None)


def _due(now: datetime, limit: int) -> list[tuple[int, datetime]]:
    with session_scope() as db:
        return due_accounts(db, now, limit)


def _claim_and_load(account_id: int, now: datetime, lease_s: float) -> _Job | None:
    with session_scope() as db:
        if not claim(db, account_id, now, lease_s):
            return None
        account = db.get(NetworkAccount, account_id)
        assert account is not None and account.credentials_enc is not None
        try:
            credentials = decrypt_credentials(account.credentials_enc)
        except CredentialKeyError as error:
            _fail_row(account, NetworkStatus.REAUTH_NEEDED, str(error), now, next_poll=None)
            return None
        return _Job(
            account_id=account_id,
            tenant_id=account.tenant_id,
            network=account.network,
            credentials=credentials,
            state=copy.deepcopy(account.state or {}),
            failures=account.failures,
            loaded_enc=account.credentials_enc,
        )


# ------------------------------------------------------------------------------------------- the job


async def poll_network_account(
    account_id: int,
    *,
    base_url: str | None = None,
    sleep: Sleep | None = None,
    clock: Any = None,
    lease_s: float = LEASE_S,
) -> NetworkPollReport | None:
    """Poll one account once (claim → poll → store). None when another worker holds it or it is gone.

    Never raises for anything the network does or for a bug below: both become the account's status with
    its cause and a back-off, so one broken account cannot stop the scheduler or the other accounts.
    """
    now_fn = clock or utcnow
    job = await asyncio.to_thread(_claim_and_load, account_id, now_fn(), lease_s)
    if job is None:
        return None
    try:
        async with create_adapter(
            job.network, job.credentials, base_url=base_url, state=job.state, sleep=sleep
        ) as adapter:
            chargers, skipped = await adapter.discover()
            batch = await adapter.fetch_sessions(chargers, now_fn())
            batch.skipped[:0] = skipped
            credentials = dict(adapter.credentials)
    except InverterError as error:
        report = await asyncio.to_thread(_store_failure, job, error, now_fn())
        log.info("network account %s (%s): %s", account_id, job.network, scrub(str(error), job.credentials))
        metrics.NETWORK_POLLS.labels(job.network, report.status).inc()
        return report
    except Exception as exc:  # a bug: keep the scheduler alive, back off, say so (traceback scrubbed)
        text = scrub(f"{type(exc).__name__}: {exc}", job.credentials)
        log.error(
            "network account %s (%s): poll crashed: %s\n%s",
            account_id,
            job.network,
            text,
            scrub(traceback.format_exc(), job.credentials),
        )
        error = IntegrationError(
            job.network, "Pipelet hit an internal fault reading this account (logged for Pipelet's team)"
        )
        metrics.NETWORK_POLLS.labels(job.network, "crash").inc()
        return await asyncio.to_thread(_store_failure, job, error, now_fn())
    report = await asyncio.to_thread(_store, job, chargers, batch, credentials, now_fn())
    metrics.NETWORK_POLLS.labels(job.network, report.status).inc()
    for row in report.skipped:
        metrics.NETWORK_ROWS_SKIPPED.labels(job.network, row.kind).inc()
    log.info(
        "network account %s (%s): %s; %d chargers, %d sessions written, %d rows skipped",
        account_id,
        job.network,
        report.status,
        report.chargers,
        report.sessions_written,
        len(report.skipped),
    )
    return report


async def poll_due(
    *, base_url: str | None = None, sleep: Sleep | None = None, clock: Any = None, limit: int = 50
) -> list[NetworkPollReport]:
    """One scheduler tick: poll every due account, each in its own task (a few at a time)."""
    now = (clock or utcnow)()
    due = await asyncio.to_thread(_due, now, limit)

    async def one(account_id: int) -> NetworkPollReport | None:
        return await poll_network_account(account_id, base_url=base_url, sleep=sleep, clock=clock)

    return await lease.poll_each(
        [a for a, _ in due],
        one,
        concurrency=get_settings().pv_poll_concurrency,
        log=log,
        what="network account",
    )


# ------------------------------------------------------------------------------------------ storing


def _fail_row(
    account: NetworkAccount, status: NetworkStatus, message: str, now: datetime, *, next_poll: datetime | None
) -> None:
    account.status = status.value
    account.last_error, account.last_error_utc = message, now
    account.failures += 1
    account.next_poll_utc, account.lease_until_utc = next_poll, None
    account.last_poll_utc = account.updated_at = now


def _replaced(account: NetworkAccount, job: _Job) -> bool:
    """Disconnected, or new credentials stored since the poll loaded its own: its result is stale (the
    replacement asked for a poll of its own), so it keeps nothing, least of all the old credentials."""
    return account.credentials_enc is None or account.credentials_enc != job.loaded_enc


def _store_failure(job: _Job, error: InverterError, now: datetime) -> NetworkPollReport:
    """The poll failed as a whole: store nothing it read, show the cause, wait before the next try."""
    failures = job.failures + 1
    wait = max(
        get_settings().network_poll_interval_s, q.backoff_s(failures, jitter_key=f"net{job.account_id}")
    )
    status, next_poll = NetworkStatus(lease.failure_status(error)), now + timedelta(seconds=wait)
    if status is NetworkStatus.REAUTH_NEEDED:
        next_poll = None  # polling waits for new credentials
    elif isinstance(error, Throttled):
        next_poll = now + timedelta(seconds=max(error.retry_after_s, 1.0))
    message = scrub(str(error), job.credentials)
    with session_scope() as db:
        account = db.get(NetworkAccount, job.account_id, with_for_update=True)
        if account is None or _replaced(account, job):
            return NetworkPollReport(job.account_id, job.network, status.value, message, discarded=True)
        _fail_row(account, status, message, now, next_poll=next_poll)
        account.failures = failures
    return NetworkPollReport(job.account_id, job.network, status.value, message, next_poll_utc=next_poll)


def _store(
    job: _Job, chargers: list[NetworkCharger], batch: SessionBatch, credentials: dict[str, Any], now: datetime
) -> NetworkPollReport:
    report = NetworkPollReport(
        job.account_id, job.network, NetworkStatus.CONNECTED.value, skipped=batch.skipped
    )
    with session_scope() as db:
        account = db.get(NetworkAccount, job.account_id, with_for_update=True)
        if account is None or _replaced(account, job):
            report.discarded = True  # disconnected or new credentials while the poll was in flight
            return report
        links = sync_chargers(db, job, chargers, now)
        report.chargers = len(links)
        sites = station_sites(db, job.account_id)
        rows = [_session_row(job, s, links, sites, now) for s in batch.sessions]
        report.sessions_written = upsert_sessions(db, job.network, rows)
        account.credentials_enc = encrypt_credentials(credentials)  # refreshed tokens; key rotation
        account.state = copy.deepcopy(batch.state)
        flag_modified(account, "state")
        account.skipped = [
            {"kind": s.kind, "ref": s.ref[:200], "reason": scrub(s.reason, job.credentials)[:300]}
            for s in batch.skipped[:MAX_SKIPPED_SHOWN]
        ]
        flag_modified(account, "skipped")
        account.status = NetworkStatus.CONNECTED.value
        account.failures = 0
        account.sessions_synced = int(
            db.exec(
                select(func.count())
                .select_from(ChargingSession)
                .where(
                    col(ChargingSession.transaction_id).startswith(
                        transaction_prefix(job.network, job.tenant_id)
                    )
                )
            ).one()
        )
        account.last_poll_utc = account.last_success_utc = account.updated_at = now
        account.next_poll_utc = now + timedelta(seconds=get_settings().network_poll_interval_s)
        account.lease_until_utc = None
        report.next_poll_utc = account.next_poll_utc
    return report


def sync_chargers(
    db: Session, job: _Job, chargers: list[NetworkCharger], now: datetime
) -> dict[str, int | None]:
    """UPSERT the discovered chargers and identify each: the tenant's own charger with the same serial (and
    the same vendor when both say one). Returns external id → Pipelet charger id (or None)."""
    own = db.exec(
        select(Charger.id, Charger.vendor, Charger.serial_number).where(
            Charger.tenant_id == job.tenant_id, col(Charger.serial_number) != ""
        )
    ).all()
    by_serial: dict[str, list[tuple[int, str]]] = {}
    for charger_id, vendor, serial in own:
        by_serial.setdefault(serial.strip().upper(), []).append((int(charger_id), vendor.strip().upper()))
    existing = {
        r.external_id: r
        for r in db.exec(
            select(NetworkChargerRow).where(NetworkChargerRow.account_id == job.account_id)
        ).all()
    }
    links: dict[str, int | None] = {}
    for found in {c.external_id: c for c in chargers}.values():
        match = None
        for charger_id, vendor in by_serial.get(found.serial.strip().upper(), []) if found.serial else []:
            if not found.vendor or not vendor or vendor == found.vendor.strip().upper():
                match = charger_id
                break
        row = existing.get(found.external_id) or NetworkChargerRow(
            account_id=job.account_id, tenant_id=job.tenant_id, external_id=found.external_id
        )
        row.name, row.site_external_id, row.site_name = found.name, found.site_id, found.site_name
        row.vendor, row.model, row.serial = found.vendor, found.model, found.serial
        row.connectors, row.charger_id, row.updated_at = len(found.connectors), match, now
        db.add(row)
        links[found.external_id] = match
    db.flush()
    return links


def _session_row(
    job: _Job, s: NetworkSession, links: dict[str, int | None], sites: dict[str, int | None], now: datetime
) -> dict[str, Any]:
    """One session as stored; `sites`: the site each network charger's location is mapped to."""
    connector = int(s.connector) if s.connector and s.connector.isdigit() and len(s.connector) < 6 else None
    charger_id = links.get(s.charger_external_id)
    if charger_id is not None:
        # Linked to a charger this CSMS also talks to: the OCPP code finds "the open session on connector
        # n" and "the connector's previous register" by (charger, connector) whatever the source, so a
        # network session there carries no connector number and can never be taken for an OCPP one.
        connector = None
    return {
        "transaction_id": transaction_id(job.network, job.tenant_id, s.session_id),
        "station_id": s.charger_external_id,
        "id_tag": s.id_tag[:64],
        "reason": reason(job.network),
        "source": SessionSource.NETWORK,
        "driver_id": None,
        "charger_id": charger_id,
        "network_site_id": sites.get(s.charger_external_id),
        "connector_id": connector,
        "start_utc": s.start_utc,
        "end_utc": s.end_utc,
        "meter_start_wh": s.meter_start_wh,
        "meter_stop_wh": s.meter_stop_wh,
        "energy_wh": s.energy_wh,
        "cost": s.cost,
        "currency": (s.currency or "EUR"),
        "started_offline": False,
        "updated_at": now,
    }


_UPDATES = (
    "station_id",
    "id_tag",
    "charger_id",
    "network_site_id",
    "connector_id",
    "start_utc",
    "end_utc",
    "meter_start_wh",
    "meter_stop_wh",
    "energy_wh",
    "cost",
    "currency",
    "updated_at",
)


def upsert_sessions(db: Session, network: str, rows: list[dict[str, Any]]) -> int:
    """UPSERT by transaction id; only this network's own rows are ever updated. Returns rows written."""
    unique = list({row["transaction_id"]: row for row in rows}.values())
    table = ChargingSession.__table__  # type: ignore[attr-defined]
    written = 0
    for start in range(0, len(unique), _CHUNK):
        stmt = lease.insert(db, table).values(unique[start : start + _CHUNK])
        stmt = stmt.on_conflict_do_update(
            index_elements=["transaction_id"],
            set_={name: stmt.excluded[name] for name in _UPDATES},
            where=(table.c.source == SessionSource.NETWORK) & (table.c.reason == reason(network)),
        )
        written += len(db.execute(stmt.returning(table.c.id)).all())
    return written
