"""Which scheduler runs the background jobs: the web app's event loop (embedded) or arq on Redis (scale-out).

The job functions (``pollers/``) are the same in both. This module only decides who calls them:

* **embedded** (``REDIS_URL`` unset): :func:`pv_scheduler` is registered as a Reflex lifespan task and
  calls ``pollers.pv.poll_due`` every ``PV_SCHEDULER_TICK_S`` seconds in the web process;
  :func:`request_pv_poll` (the connect flow's "poll now") starts the poll as a task on the same loop.
* site energy: :func:`site_energy_consumer` (the MQTT consumer, ``site_energy.consumer``) and
  :func:`site_energy_loop` (OCPP meter values into site series, measured solar share, then
  :func:`run_site_sources`: operator-linked inverter clouds' PV and aWATTar price caches) are lifespan tasks
  too; in scale-out every ``pipelet worker`` runs a consumer in an MQTT shared subscription and the two
  jobs run from cron.
* surplus charging: :func:`surplus_loop` runs the actuation loop (``actuation.loop.Runner``) as a
  lifespan task; in scale-out every ``pipelet worker`` runs one, and site leases split the sites.
* **scale-out** (``REDIS_URL`` set): the lifespan task does nothing; ``pipelet worker`` runs an arq worker
  (:class:`WorkerSettings`) whose cron job enqueues one ``poll_pv_account`` job per due account, and any
  worker runs them. Accounts are leased in the database, so a job enqueued twice polls once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from datetime import datetime
from typing import Any, ClassVar

from pipelet_app import logs
from pipelet_app.clock import utcnow
from pipelet_app.queues import QUEUE_NAME
from pipelet_app.settings import get_settings

log = logging.getLogger("pipelet.runtime")


_tasks: set[asyncio.Task[Any]] = set()  # strong references: a bare create_task may be collected mid-run
_wake: asyncio.Event | None = None


def uses_redis() -> bool:
    return bool(get_settings().redis_url)


# ------------------------------------------------------------------------------------------- embedded


async def pv_scheduler() -> None:
    """Lifespan task of the web app: poll due inverter accounts until the app stops (embedded only)."""
    global _wake
    if uses_redis():
        log.info("REDIS_URL is set: inverter polling runs in `pipelet worker` processes")
        return
    from pollers.pv import poll_due

    _wake = asyncio.Event()
    tick = max(1.0, get_settings().pv_scheduler_tick_s)
    logs.job_id.set("pv-scheduler")  # this task's own context: every line it logs names the loop
    while True:
        try:
            await poll_due()
        except asyncio.CancelledError:
            raise
        except Exception:  # the database was busy or gone: try again next tick (traceback logged)
            log.exception("inverter scheduler tick failed")
        _wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_wake.wait(), timeout=tick)


NETWORK_TICK_S = 30.0
_network_wake: asyncio.Event | None = None


async def network_scheduler() -> None:
    """Lifespan task of the web app: poll due charging-network accounts (embedded only; docs/networks.md).
    Each account is polled in its own task and its failure is stored on it: one network never stops
    another, and a failing tick (database gone) is logged and retried."""
    global _network_wake
    if uses_redis():
        log.info("REDIS_URL is set: network polling runs in `pipelet worker` processes")
        return
    from pollers.networks import poll_due

    _network_wake = asyncio.Event()
    logs.job_id.set("network-scheduler")
    while True:
        _network_wake.clear()  # before the tick: a "sync now" that comes during it runs the next at once
        try:
            await poll_due()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("network scheduler tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_network_wake.wait(), timeout=NETWORK_TICK_S)


async def request_network_poll(account_id: int) -> None:
    """ "Sync now": the account was made due; wake the embedded scheduler, or enqueue the arq job."""
    if uses_redis():
        pool = await _redis_pool()
        try:
            await pool.enqueue_job("poll_network_account", account_id, _queue_name=QUEUE_NAME)
        finally:
            await pool.aclose()
        return
    if _network_wake is not None:
        _network_wake.set()


async def arq_poll_network_account(ctx: dict[str, Any], account_id: int) -> dict[str, Any] | None:
    """arq job: one network account poll (``pollers.networks.poll_network_account``)."""
    from pollers.networks import poll_network_account

    logs.job_id.set(str(ctx.get("job_id") or f"network-poll:{account_id}"))
    report = await poll_network_account(account_id)
    if report is None:
        return None
    return {"account_id": report.account_id, "status": report.status, "sessions": report.sessions_written}


async def arq_schedule_due_networks(ctx: dict[str, Any]) -> int:
    """arq cron job: one ``poll_network_account`` job per due account and due time."""
    from pollers.networks import _due

    due: list[tuple[int, datetime]] = await asyncio.to_thread(_due, utcnow(), 200)
    for account_id, when in due:
        await ctx["redis"].enqueue_job(
            "poll_network_account",
            account_id,
            _job_id=f"network-poll:{account_id}:{int(when.timestamp())}",
            _queue_name=ctx.get("queue_name", QUEUE_NAME),
        )
    return len(due)


ALERT_MAIL_INTERVAL_S = 6 * 3600


async def alert_mailer() -> None:
    """Lifespan task of the web app: mail new compliance alerts every few hours (embedded only)."""
    if uses_redis():
        return
    from pollers.alerts import mail_compliance_alerts

    logs.job_id.set("alert-mailer")
    while True:
        try:
            await asyncio.to_thread(mail_compliance_alerts)
        except asyncio.CancelledError:
            raise
        except Exception:  # SMTP or database trouble: the alerts stay unsent and go out next time
            log.exception("compliance alert mail failed")
        await asyncio.sleep(ALERT_MAIL_INTERVAL_S)


async def arq_mail_compliance_alerts(ctx: dict[str, Any]) -> int:
    logs.job_id.set(str(ctx.get("job_id") or "alert-mailer"))
    from pollers.alerts import mail_compliance_alerts

    return await asyncio.to_thread(mail_compliance_alerts)


def _consumer() -> Any:
    from pipelet_app.site_energy.consumer import Consumer
    from pipelet_app.site_energy.embedded_broker import consumer_url

    settings = get_settings()
    group = settings.mqtt_shared_group or ("pipelet" if uses_redis() else None)
    return Consumer(consumer_url(settings.mqtt_url), shared_group=group)


async def site_energy_consumer() -> None:
    """Lifespan task of the web app: the MQTT consumer of site energy data (embedded only)."""
    if uses_redis():
        log.info("REDIS_URL is set: the MQTT consumer runs in `pipelet worker` processes")
        return
    await _consumer().run()


def run_site_energy_jobs() -> tuple[int, int, int]:
    """One round of the site-energy jobs: feed OCPP meter values, settle solar shares, prune old samples."""
    from pollers.site_energy import feed_ocpp_meter_values, prune_samples, settle_session_solar

    return feed_ocpp_meter_values(), settle_session_solar(), prune_samples()


async def run_site_sources() -> tuple[int, int]:
    """One round of the site sources that call out: operator-linked inverter clouds' PV production
    (`pollers.site_inverters`) and the surplus sites' aWATTar price caches (`pollers.tariffs`). Each
    failure is its own: a broken cloud never stops the tariffs, nor the other way round."""
    from pollers.site_inverters import poll_due_links
    from pollers.tariffs import refresh_tariffs

    polled = refreshed = 0
    try:
        polled = len(await poll_due_links())
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("site inverter polls failed")
    try:
        refreshed = await asyncio.to_thread(refresh_tariffs)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("tariff refresh failed")
    return polled, refreshed


async def site_energy_loop() -> None:
    """Lifespan task of the web app: the site-energy jobs every SITE_ENERGY_TICK_S (embedded only)."""
    if uses_redis():
        return
    tick = max(1.0, get_settings().site_energy_tick_s)
    logs.job_id.set("site-energy")
    while True:
        try:
            await asyncio.to_thread(run_site_energy_jobs)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database was busy or gone: try again next tick (traceback logged)
            log.exception("site energy jobs failed")
        await run_site_sources()
        await asyncio.sleep(tick)


async def arq_site_energy(ctx: dict[str, Any]) -> list[int]:
    logs.job_id.set(str(ctx.get("job_id") or "site-energy"))
    done = list(await asyncio.to_thread(run_site_energy_jobs))
    return done + list(await run_site_sources())


async def surplus_loop() -> None:
    """Lifespan task of the web app: the PV-surplus actuation loop (embedded only)."""
    if uses_redis():
        log.info("REDIS_URL is set: the surplus loop runs in `pipelet worker` processes")
        return
    from pipelet_app.actuation.loop import Runner

    logs.job_id.set("surplus-loop")
    await Runner().run_forever()


async def payments_sweep(interval_s: float = 15.0) -> None:
    """Lifespan task of the web app: settle paid sessions (capture / cancel, receipts; payments/flow.py).
    Safe in several workers at once: every Stripe call carries our idempotency key and the ledger only
    moves forward."""
    from pipelet_app.payments.flow import sweep_once

    while True:
        try:
            await asyncio.to_thread(sweep_once)
        except Exception:  # a bad row must not stop the money: logged, retried next round
            log.exception("payments sweep failed")
        await asyncio.sleep(interval_s)


async def payments_reconcile(interval_s: float = 600.0) -> None:
    """Lifespan task of the web app: settle holds stuck in `requires_capture` before Stripe voids them
    (payments/reconcile.py). Idempotent like the sweep, so every worker may run it."""
    from pipelet_app.payments.reconcile import reconcile_once

    while True:
        try:
            await asyncio.to_thread(reconcile_once)
        except Exception:  # logged, retried next round
            log.exception("payments reconciliation failed")
        await asyncio.sleep(interval_s)


async def request_pv_poll(account_id: int) -> None:
    """Poll this account now (a fresh coupling should not wait for the next tick)."""
    if uses_redis():
        pool = await _redis_pool()
        try:
            await pool.enqueue_job("poll_pv_account", account_id, _queue_name=QUEUE_NAME)
        finally:
            await pool.aclose()
        return
    from pollers.pv import poll_pv_account

    with logs.bound(job_id=f"pv-poll:{account_id}"):  # the task copies the context as it is now
        task = asyncio.create_task(poll_pv_account(account_id), name=f"pv-poll-{account_id}")
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


# ------------------------------------------------------------------------------------------ scale-out


async def _redis_pool() -> Any:
    from arq import create_pool
    from arq.connections import RedisSettings

    return await create_pool(RedisSettings.from_dsn(get_settings().redis_url or ""))


async def arq_poll_pv_account(ctx: dict[str, Any], account_id: int) -> dict[str, Any] | None:
    """arq job: one account poll (``pollers.pv.poll_pv_account``)."""
    from pollers.pv import poll_pv_account

    logs.job_id.set(str(ctx.get("job_id") or f"pv-poll:{account_id}"))  # arq runs each job in its own task
    report = await poll_pv_account(account_id)
    if report is None:
        return None
    return {"account_id": report.account_id, "status": report.status, "sessions": report.sessions_written}


async def arq_schedule_due_pv(ctx: dict[str, Any]) -> int:
    """arq cron job: enqueue a poll for every due account; the job id makes one per account and due time."""
    from pollers.pv import _due

    due: list[tuple[int, datetime]] = await asyncio.to_thread(_due, utcnow(), 200)
    redis = ctx["redis"]
    for account_id, when in due:
        await redis.enqueue_job(
            "poll_pv_account",
            account_id,
            _job_id=f"pv-poll:{account_id}:{int(when.timestamp())}",
            _queue_name=ctx.get("queue_name", QUEUE_NAME),
        )
    return len(due)


def worker_functions() -> list[Any]:
    from arq import func

    return [
        func(arq_poll_pv_account, name="poll_pv_account", keep_result=60),
        func(arq_poll_network_account, name="poll_network_account", keep_result=60),
    ]


def worker_cron_jobs() -> list[Any]:
    from arq import cron

    tick = max(1, int(get_settings().pv_scheduler_tick_s))
    seconds = set(range(0, 60, tick)) if tick < 60 else {0}
    return [
        cron(arq_schedule_due_pv, name="schedule_due_pv", second=seconds, unique=True, run_at_startup=True),
        cron(arq_schedule_due_networks, name="schedule_due_networks", second={5, 35}, unique=True),
        cron(arq_site_energy, name="site_energy", second={0, 15, 30, 45}, unique=True),
        cron(
            arq_mail_compliance_alerts, name="mail_compliance_alerts", hour={6, 12, 18}, minute=0, unique=True
        ),
    ]


class WorkerSettings:
    """arq settings for ``pipelet worker``: the job functions, the cron job, the queue."""

    queue_name = QUEUE_NAME
    functions: ClassVar[list[Any]] = []
    cron_jobs: ClassVar[list[Any]] = []
    max_jobs = 10
    job_timeout = 300

    @classmethod
    def build(cls, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``arq.Worker`` from the current settings."""
        from arq.connections import RedisSettings

        queue_name = overrides.get("queue_name", cls.queue_name)

        async def on_startup(ctx: dict[str, Any]) -> None:
            ctx["queue_name"] = queue_name  # the cron job enqueues where this worker listens
            # Each worker consumes its share of the site-energy MQTT topics for as long as it runs.
            ctx["mqtt_consumer"] = asyncio.create_task(_consumer().run(), name="site-energy-mqtt")
            # ... and runs the surplus loop of the sites it can lease (one owner per site).
            from pipelet_app.actuation.loop import Runner

            ctx["surplus_loop"] = asyncio.create_task(Runner().run_forever(), name="surplus-loop")
            # ... and shows its pollers' metrics to the web app's /api/v1/metrics through Redis.
            from pipelet_app import metrics

            process = f"worker:{socket.gethostname()}:{os.getpid()}"
            ctx["metrics"] = asyncio.create_task(
                metrics.publish_forever(get_settings().redis_url or "", process), name="metrics-snapshot"
            )

        async def on_shutdown(ctx: dict[str, Any]) -> None:
            for name in ("mqtt_consumer", "surplus_loop", "metrics"):
                task = ctx.get(name)
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

        return {
            "on_startup": on_startup,
            "on_shutdown": on_shutdown,
            "functions": worker_functions(),
            "cron_jobs": worker_cron_jobs(),
            "redis_settings": RedisSettings.from_dsn(get_settings().redis_url or ""),
            "queue_name": cls.queue_name,
            "max_jobs": cls.max_jobs,
            "job_timeout": cls.job_timeout,
            **overrides,
        }


def run_worker(**overrides: Any) -> None:
    """Run an arq worker until interrupted (``pipelet worker``)."""
    from arq.worker import Worker

    worker = Worker(**WorkerSettings.build(**overrides))
    worker.run()


def run_health_rollup(now: datetime | None = None) -> int:
    """Store this month's health of every charger and site; in the first two days of a month also the
    month before (late disconnects and statuses still change it)."""
    from pipelet_app.db import session_scope
    from pipelet_app.operations.health import rollup

    now = now or utcnow()
    done = 0
    with session_scope() as db:
        done += rollup(db, now.year, now.month, now)
        if now.day <= 2:
            year, month = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
            rollup(db, year, month, now)
    return done


async def health_rollup_loop(interval_s: float = 300.0) -> None:
    """Lifespan task of the web app: the monthly health roll-up every five minutes (docs/health.md)."""
    while True:
        try:
            await asyncio.to_thread(run_health_rollup)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database was busy or gone: try again next time
            log.error("health roll-up failed: %s", type(exc).__name__)
        await asyncio.sleep(interval_s)


def run_fault_mails() -> int:
    """Fault and recovery mails, then the daily digests that are due; how many mails went out."""
    from pipelet_app.db import session_scope
    from pipelet_app.operations.digest import send_digests
    from pipelet_app.operations.fault_mail import send_fault_mails

    with session_scope() as db:
        return send_fault_mails(db) + send_digests(db)


async def fault_mail_loop(interval_s: float = 60.0) -> None:
    """Lifespan task of the web app: debounced fault and recovery e-mails (operations/fault_mail.py) and
    the daily digests (operations/digest.py) every minute; idle without SMTP_URL."""
    while True:
        if get_settings().smtp_url:
            try:
                await asyncio.to_thread(run_fault_mails)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # SMTP or the database was busy or gone: try again next time
                log.error("fault mails failed: %s", type(exc).__name__)
        await asyncio.sleep(interval_s)
