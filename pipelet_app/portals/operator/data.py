"""What the operator console shows: the operator tenant's own sites, chargers and sessions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from pipelet_app.auth import Principal, require
from pipelet_app.db.models import Charger, ChargingSession, Connector, Role, Site
from pipelet_app.domain.charger_status import summary_since, summary_status
from pipelet_app.i18n.formatting import kwh, when


def live_key(db: Session, principal: Principal) -> tuple[str, int]:
    """What the charger list and the fault list follow: the caller's own operator tenant."""
    require(principal, Role.OPERATOR)
    assert principal.tenant_id is not None  # an operator always has one (auth.invitations)
    return ("operator", principal.tenant_id)


def operator_overview(db: Session, principal: Principal) -> dict:
    require(principal, Role.OPERATOR)
    tenant = principal.tenant_id
    sites = db.exec(select(Site).where(Site.tenant_id == tenant).order_by(Site.name)).all()
    site_names = {site.id: site.name for site in sites}
    chargers = db.exec(
        select(Charger).where(Charger.tenant_id == tenant).order_by(Charger.charge_point_id)
    ).all()
    site_zones = {site.id: site.timezone for site in sites}
    reported: dict[int | None, list[str]] = {c.id: [c.status] for c in chargers}
    changed: dict[int | None, list[tuple[str, datetime | None]]] = {c.id: [] for c in chargers}
    for charger_id, status, updated_at in db.exec(
        select(Connector.charger_id, Connector.status, Connector.updated_at).where(
            Connector.charger_id.in_(list(reported))  # type: ignore[union-attr]
        )
    ).all():
        reported[charger_id].append(status)
        changed[charger_id].append((status, updated_at))
    summaries = {c.id: summary_status(c.is_online, reported[c.id]) for c in chargers}
    sessions = db.exec(
        select(ChargingSession, Charger.site_id)
        .join(Charger, Charger.id == ChargingSession.charger_id)
        .where(Charger.tenant_id == tenant)
        .order_by(ChargingSession.start_utc.desc())
        .limit(15)
    ).all()
    return {
        "sites": [
            {"id": str(site.id), "name": site.name, "timezone": site.timezone, "address": site.address}
            for site in sites
        ],
        "chargers": [
            {
                "id": c.charge_point_id,
                "site": site_names.get(c.site_id, "—"),
                "model": f"{c.vendor} {c.model}".strip() or "—",
                # One summary (offline, else the most urgent connector state): the page words it.
                "status": summaries[c.id],
                "since": when(
                    summary_since(summaries[c.id], c.last_seen_at, changed[c.id]),
                    site_zones.get(c.site_id, "UTC"),
                ),
                "online": "online" if c.is_online else "offline",
            }
            for c in chargers
        ],
        "sessions": [
            {
                # The site's local time: when the driver was actually there.
                "start": when(s.start_utc, site_zones.get(site_id, "UTC")),
                "station": s.station_id,
                "id_tag": s.id_tag,
                "energy_kwh": kwh(s.energy_wh),
            }
            for s, site_id in sessions
        ],
    }
