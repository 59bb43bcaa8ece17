"""Cheap "has anything changed?" fingerprints of what the live pages show, read for many pages at once.

Why: a live page must not query its whole view every second per open tab. One poller per web process
(`portals.live`) reads these fingerprints for every key some open page follows, in a few small grouped
queries per tick, and only a page whose key's fingerprint moved reloads its view (through its own
guarded loader, which checks role and tenant again).

Operator tenants and chargers: every charger and site row carries `live_version`, a counter raised by
database triggers (migration 0035) on every change a live page shows: the charger's status, online flag,
name, site..., its connectors (StatusNotification), its sessions starting, stopping or changed once
finished, and a site's name, zone or address. A tenant's fingerprint is the count and sums of its
chargers' and sites' counters plus its running sessions' energy (MeterValues on a running session raise
no counter: the CSMS's hot path stays trigger-free). `last_seen_at` raises nothing on purpose: every
connected charger's is refreshed every few seconds, which would reload every page every tick. This
replaced grouping all of a tenant's chargers, connectors and two days of sessions each second (180-370
ms at 10,000 chargers; benchmarks/operator/README.md).

Fleets and drivers: their sessions of the last two days (count, last update), on the driver/start index.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargingSession, Driver, Site

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
    out: dict[Key, str] = {}
    if tenants:
        mine = col(Charger.tenant_id).in_(tenants)
        chargers = _sums(db, Charger.tenant_id, Charger.id, Charger.live_version, mine)
        sites = _sums(db, Site.tenant_id, Site.id, Site.live_version, col(Site.tenant_id).in_(tenants))
        running = _running(db, Charger.tenant_id, mine)
        for tenant in tenants:
            out[("operator", tenant)] = f"{chargers.get(tenant)}|{sites.get(tenant)}|{running.get(tenant)}"
    if charger_ids:
        mine = col(Charger.id).in_(charger_ids)
        own = {
            cid: f"{version}:{site_version}"
            for cid, version, site_version in db.exec(
                select(Charger.id, Charger.live_version, Site.live_version)
                .outerjoin(Site, Site.id == Charger.site_id)  # type: ignore[arg-type]
                .where(mine)
            ).all()
        }
        running = _running(db, Charger.id, mine)
        for cid in charger_ids:
            out[("charger", cid)] = f"{own[cid]}|{running.get(cid)}" if cid in own else ""
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


def _sums(db: Session, group: Any, row_id: Any, version: Any, where: Any) -> dict[int, str]:
    """Per group: how many rows, which (sum of ids) and the sum of their counters. Every committed
    change raises one counter, so the sum moves even when transactions commit out of order (a maximum
    of timestamps would miss the one that committed last with the earlier time)."""
    return {
        key: f"{count}:{ids}:{versions}"
        for key, count, ids, versions in db.exec(
            select(group, func.count(), func.sum(row_id), func.sum(version)).where(where).group_by(group)
        ).all()
    }


def _running(db: Session, group: Any, where: Any) -> dict[int, str]:
    """Per group: the running sessions (which, and their energy in whole Wh). MeterValues on a running
    session raise no counter (the CSMS's hot path stays trigger-free), so their energy is read here; the
    open-sessions index keeps it to the few sessions running now."""
    energy = func.round(ChargingSession.energy_wh) + func.round(
        func.coalesce(ChargingSession.energy_reported_wh, 0)
    )
    return {
        key: f"{count}:{ids}:{wh}"
        for key, count, ids, wh in db.exec(
            select(group, func.count(), func.sum(ChargingSession.id), func.sum(energy))
            .join(Charger, Charger.id == ChargingSession.charger_id)  # type: ignore[arg-type]
            .where(where, col(ChargingSession.end_utc).is_(None))
            .group_by(group)
        ).all()
    }
