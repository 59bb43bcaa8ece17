"""Cheap "has anything changed?" fingerprints of what the live pages show, read for many pages at once.

Why: a live page must not query its whole view every second per open tab. One poller per web process
(`portals.live`) reads these fingerprints for every key some open page follows, in at most three small
grouped queries per tick, and only a page whose key's fingerprint moved reloads its view (through its
own guarded loader, which checks role and tenant again).

A fingerprint covers: a charger's online flag and status, its connectors' last change (status, error
code: StatusNotification), and its sessions of the last two days (count, last update: start, meter
values, stop). `last_seen_at` is left out on purpose: every connected charger's is refreshed every few
seconds, which would make every page reload every tick. A session that started more than two days ago
no longer moves its page (long sessions are rare; the window keeps the query on the start-time index).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from sqlmodel import Session, col, func, or_, select

from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargingSession, Connector, Driver

# (kind, id): "operator" = an operator tenant's chargers (list, fault list); "charger" = one charger
# (its detail page); "fleet" = a fleet tenant's drivers' sessions (dashboard); "driver" = one driver's
# sessions (the driver's overview and session pages: a running session's energy and power).
Key = tuple[str, int]
SESSION_WINDOW = timedelta(days=2)


def read_versions(keys: Iterable[Key]) -> dict[Key, str]:
    """The current fingerprint of every key (an empty tenant or unknown charger has a fingerprint too)."""
    with session_scope() as db:
        return versions_in(db, keys)


def versions_in(db: Session, keys: Iterable[Key]) -> dict[Key, str]:
    """`read_versions` in the caller's transaction (a page reads its key's fingerprint right before its
    view, so its follower knows which state the page already shows)."""
    keys = set(keys)
    tenants = sorted(i for kind, i in keys if kind == "operator")
    charger_ids = sorted(i for kind, i in keys if kind == "charger")
    fleets = sorted(i for kind, i in keys if kind == "fleet")
    drivers = sorted(i for kind, i in keys if kind == "driver")
    since = utcnow() - SESSION_WINDOW
    per_charger: dict[int, list] = {}
    tenant_of: dict[int, int | None] = {}
    if tenants or charger_ids:
        scope = or_(col(Charger.tenant_id).in_(tenants), col(Charger.id).in_(charger_ids))
        for cid, tenant, online, status, changed, count in db.exec(
            select(
                Charger.id,
                Charger.tenant_id,
                Charger.is_online,
                Charger.status,
                func.max(Connector.updated_at),
                func.count(Connector.id),  # type: ignore[arg-type]
            )
            .outerjoin(Connector, Connector.charger_id == Charger.id)  # type: ignore[arg-type]
            .where(scope)
            .group_by(Charger.id)  # type: ignore[arg-type]
        ).all():
            per_charger[cid] = [online, status, str(changed), count]
            tenant_of[cid] = tenant
        for cid, changed, count in db.exec(
            select(
                ChargingSession.charger_id,
                func.max(ChargingSession.updated_at),
                func.count(ChargingSession.id),  # type: ignore[arg-type]
            )
            .join(Charger, Charger.id == ChargingSession.charger_id)  # type: ignore[arg-type]
            .where(scope, col(ChargingSession.start_utc) >= since)
            .group_by(ChargingSession.charger_id)
        ).all():
            if cid in per_charger:
                per_charger[cid] += [str(changed), count]
    out: dict[Key, str] = {}
    by_tenant: dict[int | None, list[str]] = defaultdict(list)
    for cid in sorted(per_charger):
        fingerprint = repr(per_charger[cid])
        by_tenant[tenant_of[cid]].append(f"{cid}:{fingerprint}")
        if cid in charger_ids:
            out[("charger", cid)] = fingerprint
    for cid in charger_ids:
        out.setdefault(("charger", cid), "")
    for tenant in tenants:
        out[("operator", tenant)] = "|".join(by_tenant.get(tenant, []))
    if fleets:
        found = {
            fleet: f"{changed}:{count}"
            for fleet, changed, count in db.exec(
                select(
                    Driver.fleet_id,
                    func.max(ChargingSession.updated_at),
                    func.count(ChargingSession.id),  # type: ignore[arg-type]
                )
                .join(Driver, Driver.id == ChargingSession.driver_id)  # type: ignore[arg-type]
                .where(col(Driver.fleet_id).in_(fleets), col(ChargingSession.start_utc) >= since)
                .group_by(Driver.fleet_id)
            ).all()
        }
        for fleet in fleets:
            out[("fleet", fleet)] = found.get(fleet, "")
    if drivers:
        mine = {
            driver: f"{changed}:{count}"
            for driver, changed, count in db.exec(
                select(
                    ChargingSession.driver_id,
                    func.max(ChargingSession.updated_at),
                    func.count(ChargingSession.id),  # type: ignore[arg-type]
                )
                .where(col(ChargingSession.driver_id).in_(drivers), col(ChargingSession.start_utc) >= since)
                .group_by(ChargingSession.driver_id)
            ).all()
        }
        for driver in drivers:
            out[("driver", driver)] = mine.get(driver, "")
    return out
