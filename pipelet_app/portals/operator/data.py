"""What the operator console shows, formatted; the query (own tenant only) is `operations.overview`'s."""

from __future__ import annotations

from pipelet_app.auth import Principal, Role, require
from pipelet_app.i18n.formatting import kwh, when
from pipelet_app.operations import overview
from pipelet_app.services.session import Session

# The landing page lists the first CHARGER_ROWS chargers: 10,000 rows in one table took the page tens of
# seconds to render (benchmarks/operator); every charger that needs attention is in the card above it,
# and the API lists them all (GET /api/v1/chargers).
CHARGER_ROWS = 200


def live_key(db: Session, principal: Principal) -> tuple[str, int]:
    """What the charger list and the fault list follow: the caller's own operator tenant."""
    require(principal, Role.OPERATOR)
    assert principal.tenant_id is not None  # an operator always has one (auth.invitations)
    return ("operator", principal.tenant_id)


def operator_overview(db: Session, principal: Principal) -> dict:
    data = overview.operator_overview(db, principal, charger_limit=CHARGER_ROWS)
    sites = data.sites
    site_names = {site.id: site.name for site in sites}
    site_zones = {site.id: site.timezone for site in sites}
    return {
        "charger_count": str(data.charger_count),
        "chargers_shown": str(len(data.chargers)),
        "sites": [
            {"id": str(site.id), "name": site.name, "timezone": site.timezone, "address": site.address}
            for site in sites
        ],
        "chargers": [
            {
                "id": line.charger.charge_point_id,
                "site": site_names.get(line.charger.site_id, "—"),
                "model": f"{line.charger.vendor} {line.charger.model}".strip() or "—",
                # One summary (offline, else the most urgent connector state): the page words it.
                "status": line.summary,
                "since": when(line.since, site_zones.get(line.charger.site_id, "UTC")),
                "online": "online" if line.charger.is_online else "offline",
            }
            for line in data.chargers
        ],
        "sessions": [
            {
                # The site's local time: when the driver was actually there.
                "start": when(s.start_utc, site_zones.get(site_id, "UTC")),
                "station": s.station_id,
                "id_tag": s.id_tag,
                "energy_kwh": kwh(s.energy_wh),
            }
            for s, site_id in data.sessions
        ],
    }
