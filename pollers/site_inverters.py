"""PV production from operator-linked inverter clouds into the sites' 1-minute series.

One link poll (`poll_link`), shaped like the drivers' account poll (`pollers.pv`):

1. **Claim** (own short transaction): lease the `site_inverters` row with a conditional UPDATE, so two
   workers never poll one link at once, and decrypt the credentials. A link whose quota ledger says the
   call would overdraw a window is not called: it is rescheduled to when the call fits.
2. **Poll** (no transaction open): `adapter.fetch_production(system, since)` — complete intervals only.
   `since` is the end of the newest interval stored minus `OVERLAP`, so values the cloud revises later
   (Enphase counts micros that report late) are read again.
3. **Store** (one transaction): every interval is spread over its minutes as one sample per minute
   (`ts` = the minute's start, the interval's mean power, `source="cloud"`) and handed to
   `site_energy.store.write_batch`: an idempotent UPSERT keyed (site, minute, device, ts), so a repeated
   poll rewrites the same rows and never duplicates; minutes older than 2 minutes are marked dirty, and
   `settle_session_solar` recomputes the sessions over them (the solar share follows late cloud data).
   Then the re-encrypted credentials (a refreshed token), adapter state, ledger, status and next poll.
   The ledger holds the poll's own call and every call the adapter budgeted beyond it (a history read
   asked again after a refusal, Huawei's hourly plant data); it is saved whatever the poll's outcome.

A failed poll stores nothing and moves nothing forward: `stored_until_utc` stays, so the next poll asks
for the same span again (lost: nothing). Throttling and outages back off by the brand's quota policy
(`domain.quota`); refused credentials stop polling until the operator links the account again.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col

from pipelet_app import metrics
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import DeviceKind, SiteDevice, SiteInverter
from pipelet_app.domain import quota as q
from pipelet_app.domain.site_energy import MAX_LATE, MINUTE, floor_minute
from pipelet_app.inverters.base import (
    Clock,
    IntegrationError,
    InvalidCredentials,
    InverterError,
    ProductionInterval,
    ReauthRequired,
    System,
    Throttled,
)
from pipelet_app.inverters.credentials import (
    CredentialKeyError,
    decrypt_credentials,
    encrypt_credentials,
    scrub,
)
from pipelet_app.inverters.registry import create_adapter
from pipelet_app.site_energy.store import SampleIn, write_batch
from pollers import _lease as lease

log = logging.getLogger("pipelet.pollers.site_inverters")

#: re-read this much before the newest stored interval: clouds revise recent values
OVERLAP = timedelta(hours=1)
LEASE_S = 120.0
#: production is what a site's solar share and energy view need: the drivers' day pace (30 min, 2 h at
#: night) within the brand's quota (Enphase free: ~45 min; SolarEdge: 300 a day)
POLICY = q.DEFAULT_POLICY


@dataclass
class LinkReport:
    link_id: int
    status: str
    message: str | None = None
    intervals: int = 0
    samples: int = 0
    next_poll_utc: datetime | None = None
    brand: str = ""


@dataclass
class _Job:
    link_id: int
    site_id: int
    device_id: int
    brand: str
    system_id: str
    tz: str | None
    credentials: dict[str, Any]
    state: dict[str, Any]
    ledger: dict[str, list[float]]
    failures: int
    stored_until: datetime | None


def due_links(now: datetime, limit: int = 50) -> list[int]:
    with session_scope() as db:
        return [link_id for link_id, _ in lease.due(db, SiteInverter, now, limit)]


def _claim(link_id: int, now: datetime) -> _Job | None:
    with session_scope() as db:
        if not lease.claim(
            db, SiteInverter, link_id, now, LEASE_S, col(SiteInverter.next_poll_utc).is_not(None)
        ):
            return None
        row = db.get(SiteInverter, link_id)
        assert row is not None
        device = db.get(SiteDevice, row.device_id)
        if device is None or device.site_id != row.site_id or device.kind != DeviceKind.PV:
            _stop(row, now, "error", "the site's pv device of this link was removed; link the inverter again")
            db.add(row)
            return None
        try:
            credentials = decrypt_credentials(row.credentials_enc)
        except CredentialKeyError as error:
            _stop(row, now, "reauth-needed", str(error))
            db.add(row)
            return None
        return _Job(
            link_id,
            row.site_id,
            row.device_id,
            row.brand,
            row.system_id,
            row.system_timezone,
            credentials,
            copy.deepcopy(row.state or {}),
            copy.deepcopy(row.ledger or {}),
            row.failures,
            row.stored_until_utc,
        )


def _stop(row: SiteInverter, now: datetime, status: str, message: str) -> None:
    """No more polls until the operator acts (links again): the cloud would refuse every one."""
    row.status, row.message = status, message
    row.next_poll_utc = row.lease_until_utc = None
    row.updated_at = now


def spread(intervals: list[ProductionInterval], site_id: int, device_id: int) -> list[SampleIn]:
    """One sample per minute an interval covers (its mean power): the resolution of the cloud, on the
    series' 1-minute grid. A minute two intervals share keeps the later interval's value."""
    samples: dict[datetime, SampleIn] = {}
    for interval in sorted(intervals, key=lambda i: i.start_utc):
        minute = floor_minute(interval.start_utc)
        while minute < interval.end_utc:
            samples[minute] = SampleIn(
                site_id, device_id, DeviceKind.PV.value, minute, interval.power_w, None, None, "cloud"
            )
            minute += MINUTE
    return list(samples.values())


async def poll_link(
    link_id: int, *, clock: Clock | None = None, base_url: str | None = None
) -> LinkReport | None:
    """Poll one link once (claim → poll → store). None when it is leased elsewhere, gone or stopped."""
    now_fn = clock or utcnow
    job = await asyncio.to_thread(_claim, link_id, now_fn())
    if job is None:
        return None
    quota = q.quota_for(job.brand)
    now = now_fn()
    if not q.can_spend(job.ledger, quota, now):
        due = q.next_allowed(job.ledger, quota, now)
        await asyncio.to_thread(_release, job, due, "throttled", "waiting for the brand's request quota")
        return LinkReport(
            link_id, "throttled", "waiting for the brand's request quota", next_poll_utc=due, brand=job.brand
        )
    since = max(job.stored_until - OVERLAP if job.stored_until else now - MAX_LATE, now - MAX_LATE)
    intervals: list[ProductionInterval] = []
    error: InverterError | None = None
    adapter = create_adapter(job.brand, job.credentials, state=job.state, base_url=base_url, clock=clock)
    adapter.ledger = q.spend(job.ledger, quota, now)  # this poll's call; the adapter adds those beyond it
    try:
        async with adapter:
            intervals = await adapter.fetch_production(System(job.system_id, "", job.tz), since)
    except InverterError as exc:
        error = exc
    except Exception:  # our bug: logged (scrubbed of the credentials), shown as such, backed off
        log.error("site inverter %s (%s): poll crashed", link_id, job.brand, exc_info=True)
        error = IntegrationError(job.brand, "Pipelet could not read the cloud's answer; logged for its team")
    return await asyncio.to_thread(
        _store,
        job,
        adapter.credentials,
        adapter.credentials_changed,
        adapter.state,
        adapter.ledger,
        intervals,
        error,
        now_fn(),
    )


def _release(job: _Job, due: datetime, status: str, message: str) -> None:
    with session_scope() as db:
        row = db.get(SiteInverter, job.link_id)
        if row is None:
            return
        row.status, row.message, row.next_poll_utc, row.lease_until_utc = status, message, due, None
        db.add(row)


def _store(
    job: _Job,
    credentials: dict[str, Any],
    credentials_changed: bool,
    state: dict[str, Any],
    ledger: dict[str, list[float]],
    intervals: list[ProductionInterval],
    error: InverterError | None,
    now: datetime,
) -> LinkReport:
    quota = q.quota_for(job.brand)
    with session_scope() as db:
        row = db.get(SiteInverter, job.link_id)
        if row is None:  # unlinked while the poll was in flight: nothing to keep
            return LinkReport(job.link_id, "unlinked", brand=job.brand)
        report = LinkReport(job.link_id, "connected", brand=job.brand)
        if credentials_changed:
            row.credentials_enc = encrypt_credentials(credentials)
        row.ledger, row.last_poll_utc, row.lease_until_utc, row.updated_at = ledger, now, None, now
        if isinstance(error, InvalidCredentials | ReauthRequired):
            _stop(row, now, "reauth-needed", scrub(str(error), job.credentials))
            report.status, report.message = row.status, row.message
            db.add(row)
            log.info("site inverter %s (%s): %s", job.link_id, job.brand, row.message)
            return report
        if error is not None:
            row.failures += 1
            retry = error.retry_after_s if isinstance(error, Throttled) else None
            row.status = lease.failure_status(error)
            row.message = scrub(str(error), job.credentials)
            row.next_poll_utc = q.next_poll_time(
                now,
                quota=quota,
                ledger=ledger,
                tz_name=job.tz,
                failures=row.failures,
                retry_after_s=retry,
                policy=POLICY,
                jitter_key=f"site-inverter:{job.link_id}",
            )
            db.add(row)
            log.info(
                "site inverter %s (%s): %s; next poll %s",
                job.link_id,
                job.brand,
                row.message,
                row.next_poll_utc,
            )
            return LinkReport(
                job.link_id, row.status, row.message, next_poll_utc=row.next_poll_utc, brand=job.brand
            )
        samples = spread(intervals, job.site_id, job.device_id)
        write_batch(db, samples, now)
        newest = max((i.end_utc for i in intervals), default=None)
        if newest is not None and (row.stored_until_utc is None or newest > row.stored_until_utc):
            row.stored_until_utc = newest
        row.state, row.failures, row.status, row.message = state, 0, "connected", None
        row.next_poll_utc = q.next_poll_time(
            now, quota=quota, ledger=ledger, tz_name=job.tz, policy=POLICY, jitter_key=str(job.link_id)
        )
        db.add(row)
        report.intervals, report.samples, report.next_poll_utc = (
            len(intervals),
            len(samples),
            row.next_poll_utc,
        )
        return report


async def poll_due_links(now: datetime | None = None, limit: int = 20) -> list[LinkReport]:
    """Poll every due link (one after the other: a tick's work is bounded by `limit`)."""
    reports = []
    for link_id in await asyncio.to_thread(due_links, now or utcnow(), limit):
        try:
            report = await poll_link(link_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database was busy or gone: the lease runs out, the next tick retries
            log.exception("site inverter %s: poll failed", link_id)
            metrics.SITE_INVERTER_POLLS.labels("unknown", "crash").inc()
            continue
        if report is not None:
            metrics.SITE_INVERTER_POLLS.labels(report.brand, report.status).inc()
            reports.append(report)
    return reports
