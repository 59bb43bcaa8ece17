"""Each of the operator's sites with its location and one state, for the map beside "Needs attention now".

A site's state is its worst charger's summary (`domain.charger_status.worst`), by the same order the
charger list uses, so the map and the list never disagree: Offline, Faulted, Charging, ..., Available;
"Unknown" for a site without chargers. Retired chargers are left out, as everywhere in operations.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlmodel import Session, col, func, select

from pipelet_app.auth import Principal, require
from pipelet_app.db.models import Charger, Connector, Role, Site
from pipelet_app.domain.charger_status import summary_status, worst


def site_states(db: Session, principal: Principal) -> list[dict[str, Any]]:
    """Each site with its state, from chargers and connectors grouped by their statuses in the database:
    a site's worst charger is the worst of those groups' summaries (`worst` of `summary_status` ranks
    by one order, so the minimum over chargers is the minimum over their statuses). Reading every
    charger and connector into Python took ~200 ms at 10,000 chargers (benchmarks/operator)."""
    require(principal, Role.OPERATOR)
    tenant = principal.tenant_id
    active = (Charger.tenant_id == tenant, col(Charger.retired_at).is_(None))
    sites = db.exec(
        select(Site.id, Site.name, Site.latitude, Site.longitude, Site.lifecycle_state)
        .where(Site.tenant_id == tenant)
        .order_by(col(Site.name))
    ).all()
    per_site = select(Charger.site_id, func.count()).where(*active).group_by(Charger.site_id)
    counts = dict(db.exec(per_site).all())
    summaries: dict[int | None, list[str]] = defaultdict(list)
    for site_id, is_online, charger_status, connector_status in db.exec(
        select(Charger.site_id, Charger.is_online, Charger.status, Connector.status)
        .outerjoin(Connector, col(Connector.charger_id) == Charger.id)  # a charger without connectors too
        .where(*active)
        .group_by(Charger.site_id, Charger.is_online, Charger.status, Connector.status)
    ).all():
        summaries[site_id].append(summary_status(is_online, [charger_status, connector_status or ""]))
    return [
        {
            "id": site_id,
            "name": name,
            "latitude": latitude,
            "longitude": longitude,
            "lifecycle_state": str(lifecycle),
            "state": worst(summaries[site_id]),
            "chargers": counts.get(site_id, 0),
        }
        for site_id, name, latitude, longitude, lifecycle in sites
    ]
