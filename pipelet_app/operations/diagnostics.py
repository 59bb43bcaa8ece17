"""System health for admins: database, Redis, CSMS nodes and their sockets, workers and the job queue,
the last successful poll per integration, and the settings with every secret redacted.

Why one report for the page and the download: what an admin sees is what they send to whoever helps
them, so the download must be safe to attach to a ticket. Secrets are removed by name (any setting
whose name says secret, password, key or token shows only whether it is set) and by shape (a URL's
password and credential-like query parameters are masked), so a new secret setting is redacted
without anyone remembering to list it. Every probe has a short timeout and reports its own failure:
the page is most needed when something is down.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import re
import time
from collections import defaultdict
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from pipelet_app import __version__
from pipelet_app.auth import Principal, require
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    NetworkAccount,
    PvAccount,
    PvStatus,
    Role,
    Site,
    Tenant,
    User,
)
from pipelet_app.settings import Settings, get_settings

log = logging.getLogger("pipelet.diagnostics")
REDACTED = "<redacted>"
SECRET_NAME = re.compile(r"secret|password|passwd|key|token|credential", re.IGNORECASE)
SECRET_PARAM = re.compile(r"secret|password|passwd|key|token|auth|signature", re.IGNORECASE)
PACKAGES = ("reflex", "sqlmodel", "sqlalchemy", "alembic", "ocpp", "websockets", "httpx", "stripe")
COUNTED = {"tenants": Tenant, "users": User, "sites": Site, "chargers": Charger, "sessions": ChargingSession}
PROBE_TIMEOUT_S = 3.0
FAILING = {PvStatus.ERROR.value, PvStatus.INTEGRATION_ERROR.value, PvStatus.REAUTH_NEEDED.value}
# A probe's status in the report (the download keeps these; /admin/system words them, see its view)
OK = "ok"
UNREACHABLE = "unreachable"  # "unreachable: <exception class>"
NOT_CONFIGURED = "not configured (embedded deployment)"
NOT_ANSWERING = "not answering"
EMBEDDED_WORKER = "embedded in the web process"


# ------------------------------------------------------------------------------------------ redaction
def redact_value(name: str, value: Any) -> Any:
    """A setting as it may be shown: secrets by name → whether set; URLs → password and credential-like
    query parameters masked; anything else as it is."""
    if SECRET_NAME.search(name):
        return REDACTED if value not in (None, "") else None
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return value


def redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{REDACTED}@{host}" if ":" in userinfo else f"{REDACTED}@{host}"
        query = urlencode(
            [(k, REDACTED if SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query, True)],
            safe="<>",
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:  # not a URL after all: show nothing rather than something secret
        return REDACTED


def redacted_settings(settings: Settings) -> dict[str, Any]:
    return {name: redact_value(name, value) for name, value in sorted(settings.model_dump().items())}


# --------------------------------------------------------------------------------------------- probes
def database(db: Session) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        db.exec(text("SELECT 1"))  # type: ignore[call-overload]
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        dialect = db.get_bind().dialect.name
        revision = db.exec(text("SELECT version_num FROM alembic_version")).first()  # type: ignore[call-overload]
        rows = {
            name: db.exec(select(func.count()).select_from(model)).one() for name, model in COUNTED.items()
        }
        return {
            "status": OK,
            "dialect": dialect,
            "latency_ms": latency_ms,
            "migration": revision[0] if revision else None,
            "migration_head": _migration_head(),
            "rows": rows,
        }
    except Exception as exc:  # the report is most needed when this fails
        return {"status": f"{UNREACHABLE}: {type(exc).__name__}"}


def _migration_head() -> str | None:
    from alembic.script import ScriptDirectory

    from pipelet_app.db.migrate import alembic_config

    try:
        return ScriptDirectory.from_config(alembic_config()).get_current_head()
    except Exception as exc:
        log.warning("migration head unknown: %s", exc)
        return None


def integrations(db: Session) -> list[dict[str, Any]]:
    """Per inverter brand and per charging network: accounts, how many are in trouble, the last
    successful sync and the last poll."""
    inverters = db.exec(
        select(PvAccount.brand, PvAccount.status, PvAccount.last_sync_utc, PvAccount.last_poll_utc).where(
            col(PvAccount.credentials_enc).is_not(None)
        )
    ).all()
    networks = db.exec(
        select(
            NetworkAccount.network,
            NetworkAccount.status,
            NetworkAccount.last_success_utc,
            NetworkAccount.last_poll_utc,
        ).where(col(NetworkAccount.credentials_enc).is_not(None))
    ).all()
    return _summarise("inverter", inverters) + _summarise("network", networks)


def _summarise(kind: str, rows) -> list[dict[str, Any]]:
    by_name: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"accounts": 0, "failing": 0, "last_success_utc": None, "last_poll_utc": None}
    )
    for name, status, succeeded, polled in rows:
        entry = by_name[name]
        entry["accounts"] += 1
        entry["failing"] += status in FAILING
        entry["last_success_utc"] = _latest(entry["last_success_utc"], succeeded)
        entry["last_poll_utc"] = _latest(entry["last_poll_utc"], polled)
    return [{"kind": kind, "name": name, **by_name[name]} for name in sorted(by_name)]


def _latest(a, b):
    return b if a is None or (b is not None and b > a) else a


async def redis_and_nodes(redis_url: str | None) -> dict[str, Any]:
    """Redis, the CSMS nodes with their open sockets, the workers alive and the job queue's depth."""
    from pipelet_app import metrics

    if not redis_url:
        from pipelet_app.ocpp.commands import local_node_metrics

        text_ = await local_node_metrics(PROBE_TIMEOUT_S)
        nodes = [{"node": "csms", **_sockets(text_)}] if text_ is not None else []
        return {
            "redis": {"status": NOT_CONFIGURED},
            "csms_nodes": nodes or [{"node": "csms", "status": NOT_ANSWERING}],
            "workers": [{"worker": EMBEDDED_WORKER}],
            "queue_depth": None,
        }
    import redis.asyncio as aioredis

    from pipelet_app.queues import QUEUE_NAME

    client = aioredis.Redis.from_url(
        redis_url, socket_timeout=PROBE_TIMEOUT_S, socket_connect_timeout=PROBE_TIMEOUT_S
    )
    try:
        started = time.perf_counter()
        await client.ping()
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        info = await client.info("memory")
        depth = await client.zcard(QUEUE_NAME)
        snapshots = await metrics.read_snapshots(redis_url)
    except Exception as exc:
        return {
            "redis": {"status": f"{UNREACHABLE}: {type(exc).__name__}"},
            "csms_nodes": [],
            "workers": [],
            "queue_depth": None,
        }
    finally:
        await client.aclose()
    return {
        "redis": {"status": OK, "latency_ms": latency_ms, "used_memory": info.get("used_memory_human")},
        "csms_nodes": [
            {"node": name, **_sockets(body)}
            for name, body in sorted(snapshots.items())
            if name.startswith("csms")
        ],
        "workers": [{"worker": name} for name in sorted(snapshots) if name.startswith("worker")],
        "queue_depth": depth,
    }


def _sockets(metrics_text: str | None) -> dict[str, Any]:
    """Open charger sockets by OCPP version from a node's Prometheus text."""
    from prometheus_client.parser import text_string_to_metric_families

    by_version: dict[str, int] = {}
    for family in text_string_to_metric_families(metrics_text or ""):
        if family.name == "pipelet_csms_connections":
            for sample in family.samples:
                by_version[sample.labels.get("ocpp_version", "?")] = int(sample.value)
    return {"status": OK, "connections": sum(by_version.values()), "by_version": by_version}


def versions() -> dict[str, str]:
    found = {"pipelet": __version__, "python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


# ------------------------------------------------------------------------------------------- report
def check_admin(principal: Principal) -> None:
    require(principal, Role.ADMIN)


def collect_sync(db: Session, principal: Principal) -> dict[str, Any]:
    """The database half (runs on a worker thread with the guard's session)."""
    check_admin(principal)
    return {"database": database(db), "integrations": integrations(db)}


async def gather(principal: Principal) -> dict[str, Any]:
    """The whole report: the database half on a worker thread, the network probes on the event loop."""
    check_admin(principal)

    def sync_part() -> dict[str, Any]:
        with session_scope() as db:
            return collect_sync(db, principal)

    return await report(await asyncio.to_thread(sync_part))


async def report(sync_part: dict[str, Any]) -> dict[str, Any]:
    settings = get_settings()
    return {
        "generated_utc": utcnow().isoformat(),
        "versions": versions(),
        **sync_part,
        **await redis_and_nodes(settings.redis_url),
        "settings": redacted_settings(settings),
    }
