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
    require(principal, Role.OPERATOR)
    tenant = principal.tenant_id
    sites = db.exec(select(Site).where(Site.tenant_id == tenant).order_by(col(Site.name))).all()
    chargers = db.exec(
        select(Charger).where(Charger.tenant_id == tenant, col(Charger.retired_at).is_(None))
    ).all()
    reported: dict[int | None, list[str]] = {c.id: [c.status] for c in chargers}
    for charger_id, status in db.exec(
        select(Connector.charger_id, Connector.status).where(col(Connector.charger_id).in_(list(reported)))
    ).all():
        reported[charger_id].append(status)
    by_site: dict[int | None, list[str]] = defaultdict(list)
    for c in chargers:
        by_site[c.site_id].append(summary_status(c.is_online, reported[c.id]))
    return [
        {
            "id": site.id,
            "name": site.name,
            "latitude": site.latitude,
            "longitude": site.longitude,
            "lifecycle_state": str(site.lifecycle_state),
            "state": worst(by_site[site.id]),
            "chargers": len(by_site[site.id]),
        }
        for site in sites
    ]
