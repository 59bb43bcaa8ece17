"""What the operator console shows, formatted; the query (own tenant only) is `operations.overview`'s."""

from __future__ import annotations

from pipelet_app.auth import Principal, Role, require
from pipelet_app.i18n.formatting import kwh, page_span, when
from pipelet_app.operations import overview
from pipelet_app.services.session import Session

# The landing page lists its chargers and sites a page at a time: at 10,000 chargers and 1,000 sites,
# whole tables made the page's first render take seconds (benchmarks/operator: ~11,000 of its 14,000
# elements were these two tables). Every charger that needs attention is in the card above them.
CHARGER_ROWS = 50
SITE_ROWS = 50


def live_key(db: Session, principal: Principal) -> tuple[str, int]:
    """What the charger list and the fault list follow: the caller's own operator tenant."""
    require(principal, Role.OPERATOR)
    assert principal.tenant_id is not None  # an operator always has one (auth.invitations)
    return ("operator", principal.tenant_id)


def operator_overview(
    db: Session, principal: Principal, charger_offset: int = 0, site_offset: int = 0
) -> dict:
    """The page of chargers from `charger_offset` and of sites from `site_offset`."""
    data = overview.operator_overview(
        db,
        principal,
        charger_limit=CHARGER_ROWS,
        charger_offset=charger_offset,
        site_limit=SITE_ROWS,
        site_offset=site_offset,
    )
    zones = data.zones
    return {
        "charger_count": data.charger_count,
        "charger_offset": data.charger_offset,
        "chargers_span": page_span(data.charger_offset, len(data.chargers), data.charger_count),
        "site_count": data.site_count,
        "site_offset": data.site_offset,
        "sites_span": page_span(data.site_offset, len(data.sites), data.site_count),
        "sites": [
            {"id": str(site.id), "name": site.name, "timezone": site.timezone, "address": site.address}
            for site in data.sites
        ],
        "chargers": [
            {
                "id": line.charger.charge_point_id,
                "site": zones.get(line.charger.site_id, ("—", "UTC"))[0],
                "model": f"{line.charger.vendor} {line.charger.model}".strip() or "—",
                # One summary (offline, else the most urgent connector state): the page words it.
                "status": line.summary,
                "since": when(line.since, zones.get(line.charger.site_id, ("", "UTC"))[1]),
                "online": "online" if line.charger.is_online else "offline",
            }
            for line in data.chargers
        ],
        "sessions": [
            {
                # The site's local time: when the driver was actually there.
                "start": when(s.start_utc, zones.get(site_id, ("", "UTC"))[1]),
                "station": s.station_id,
                "id_tag": s.id_tag,
                "energy_kwh": kwh(s.energy_wh),
            }
            for s, site_id in data.sessions
        ],
    }
