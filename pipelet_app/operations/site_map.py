"""Each of the operator's sites with its location and one state, for the map beside "Needs attention now".

A site's state is its worst charger's summary (`domain.charger_status.worst`), by the same order the
charger list uses, so the map and the list never disagree: Offline, Faulted, Charging, ..., Available;
"Unknown" for a site without chargers. Retired chargers are left out, as everywhere in operations.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlmodel import Session, col, select

from pipelet_app.auth import Principal, require
from pipelet_app.db.models import Charger, Connector, Role, Site
from pipelet_app.domain.charger_status import summary_status, worst


def site_states(db: Session, principal: Principal) -> list[dict[str, Any]]:
    """Plain column tuples, not ORM rows, and the connectors joined by tenant rather than listed by id:
    at 10,000 chargers building objects (and a 10,000-id IN list) took most of a second."""
    require(principal, Role.OPERATOR)
    tenant = principal.tenant_id
    active = (Charger.tenant_id == tenant, col(Charger.retired_at).is_(None))
    sites = db.exec(
        select(Site.id, Site.name, Site.latitude, Site.longitude, Site.lifecycle_state)
        .where(Site.tenant_id == tenant)
        .order_by(col(Site.name))
    ).all()
    chargers = db.exec(
        select(Charger.id, Charger.site_id, Charger.is_online, Charger.status).where(*active)
    ).all()
    reported: dict[int | None, list[str]] = {charger_id: [status] for charger_id, _, _, status in chargers}
    for charger_id, status in db.exec(
        select(Connector.charger_id, Connector.status)
        .join(Charger, col(Charger.id) == Connector.charger_id)
        .where(*active)
    ).all():
        reported[charger_id].append(status)
    by_site: dict[int | None, list[str]] = defaultdict(list)
    for charger_id, site_id, is_online, _ in chargers:
        by_site[site_id].append(summary_status(is_online, reported[charger_id]))
    return [
        {
            "id": site_id,
            "name": name,
            "latitude": latitude,
            "longitude": longitude,
            "lifecycle_state": str(lifecycle),
            "state": worst(by_site[site_id]),
            "chargers": len(by_site[site_id]),
        }
        for site_id, name, latitude, longitude, lifecycle in sites
    ]
