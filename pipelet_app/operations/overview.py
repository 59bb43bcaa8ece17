"""The operator's lists: the console's overview (a page of its sites, a page of its chargers with their
one summary state and since when, the counts of both, latest sessions) and the charger list with
connectors the API serves. The console's page and the API routes format them; `Charger` and `Connector`
are the result types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, func, select

from pipelet_app.auth import Principal, require
from pipelet_app.db.models import Charger, ChargingSession, Connector, Role, Site
from pipelet_app.domain.charger_status import summary_since, summary_status
from pipelet_app.domain.paging import page_start


@dataclass(frozen=True)
class ChargerLine:
    charger: Charger
    summary: str  # offline, else the most urgent connector state (domain.charger_status)
    since: datetime | None


@dataclass(frozen=True)
class Overview:
    sites: list[Site]  # one page of the tenant's sites by name (`site_offset`, `site_limit`)
    chargers: list[ChargerLine]  # one page of its chargers by id (`charger_offset`, `charger_limit`)
    sessions: list[tuple[ChargingSession, int | None]]  # (session, its charger's site id), newest first
    charger_count: int = 0  # all of the tenant's chargers
    site_count: int = 0  # all of its sites
    charger_offset: int = 0  # where the pages start (an offset past the end is moved to the last page)
    site_offset: int = 0
    zones: dict[int, tuple[str, str]] = field(default_factory=dict)  # site id -> (name, timezone), for
    # the sites the listed chargers and sessions belong to (which need not be on the page of sites)


def my_chargers(db: Session, principal: Principal) -> list[tuple[Charger, list[Connector]]]:
    """The caller's operator tenant's chargers by id, each with its connectors (two queries)."""
    require(principal, Role.OPERATOR)
    chargers = db.exec(
        select(Charger).where(Charger.tenant_id == principal.tenant_id).order_by(Charger.charge_point_id)
    ).all()
    connectors = db.exec(
        select(Connector).where(Connector.charger_id.in_([c.id for c in chargers]))  # type: ignore[union-attr]
    ).all()
    by_charger: dict[int, list[Connector]] = {}
    for connector in connectors:
        by_charger.setdefault(connector.charger_id, []).append(connector)
    return [(c, by_charger.get(c.id or 0, [])) for c in chargers]


def connectors_of(db: Session, charger: Charger) -> list[Connector]:
    """A charger's connectors; the caller got `charger` through a scoped look-up (`own_charger`)."""
    return list(db.exec(select(Connector).where(Connector.charger_id == charger.id)).all())


def operator_overview(
    db: Session,
    principal: Principal,
    session_limit: int = 15,
    charger_limit: int | None = None,
    charger_offset: int = 0,
    site_limit: int | None = None,
    site_offset: int = 0,
) -> Overview:
    """The caller's operator tenant only (role checked here, tenant from the principal); a page of the
    chargers by id and of the sites by name (`*_limit` None: all), with the count of each."""
    require(principal, Role.OPERATOR)
    tenant = principal.tenant_id
    site_count = db.exec(select(func.count()).select_from(Site).where(Site.tenant_id == tenant)).one()
    count = db.exec(select(func.count()).select_from(Charger).where(Charger.tenant_id == tenant)).one()
    site_offset = page_start(site_offset, site_limit, site_count)
    charger_offset = page_start(charger_offset, charger_limit, count)
    sites = list(
        db.exec(
            select(Site)
            .where(Site.tenant_id == tenant)
            .order_by(Site.name, Site.id)  # type: ignore[arg-type]
            .offset(site_offset)
            .limit(site_limit)
        ).all()
    )
    chargers = db.exec(
        select(Charger)
        .where(Charger.tenant_id == tenant)
        .order_by(Charger.charge_point_id)
        .offset(charger_offset)
        .limit(charger_limit)
    ).all()
    reported: dict[int | None, list[str]] = {c.id: [c.status] for c in chargers}
    changed: dict[int | None, list[tuple[str, datetime | None]]] = {c.id: [] for c in chargers}
    for charger_id, status, updated_at in db.exec(
        select(Connector.charger_id, Connector.status, Connector.updated_at).where(
            Connector.charger_id.in_(list(reported))  # type: ignore[union-attr]
        )
    ).all():
        reported[charger_id].append(status)
        changed[charger_id].append((status, updated_at))
    lines = []
    for c in chargers:
        summary = summary_status(c.is_online, reported[c.id])
        lines.append(ChargerLine(c, summary, summary_since(summary, c.last_seen_at, changed[c.id])))
    sessions = db.exec(
        select(ChargingSession, Charger.site_id)
        .join(Charger, Charger.id == ChargingSession.charger_id)
        .where(Charger.tenant_id == tenant)
        .order_by(ChargingSession.start_utc.desc())
        .limit(session_limit)
    ).all()
    site_ids = {c.site_id for c in chargers} | {site_id for _, site_id in sessions}
    zones = {
        site_id: (name, zone)
        for site_id, name, zone in db.exec(
            select(Site.id, Site.name, Site.timezone).where(
                Site.tenant_id == tenant,
                Site.id.in_([i for i in site_ids if i is not None]),  # type: ignore[union-attr]
            )
        ).all()
    }
    return Overview(
        sites=sites,
        chargers=lines,
        sessions=[(s, site_id) for s, site_id in sessions],
        charger_count=count,
        site_count=site_count,
        zones=zones,
        charger_offset=charger_offset,
        site_offset=site_offset,
    )
