"""What needs an operator's attention now, each item linking to where it is fixed (the charger page:
commands, review buttons, setup): faulted connectors, offline chargers, sessions flagged as implausible
(`review_pending`), stuck sessions (still open after `STUCK_AFTER`, or open on an offline charger), and
overdue lifecycle steps: a step of an SPV the tenant sponsors past its due date and not done (linking to
the SPV console), and a site still planned, under construction or commissioning after its commissioning
date (linking to the site page). Only the caller's tenant, only unretired chargers; offline chargers at
sites not yet (or no longer) operating are left out (planned, construction, decommissioned). Bounded
queries, oldest first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, or_, select

from pipelet_app.auth import Principal, require
from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Connector,
    Role,
    Site,
    SiteLifecycle,
    Spv,
    SpvLifecycleStep,
)

STUCK_AFTER = timedelta(hours=24)
LIMIT = 200  # per kind: a page that lists thousands helps nobody; the counts say how many there are
QUIET = (SiteLifecycle.PLANNED, SiteLifecycle.CONSTRUCTION, SiteLifecycle.DECOMMISSIONED)
NOT_YET_OPERATING = (SiteLifecycle.PLANNED, SiteLifecycle.CONSTRUCTION, SiteLifecycle.COMMISSIONING)
KINDS = ("faulted", "offline", "flagged", "stuck", "overdue")


def _link(cp_id: str) -> str:
    return f"/operator/chargers/{cp_id}"


def attention(db: Session, principal: Principal, now: datetime | None = None) -> dict[str, Any]:
    require(principal, Role.OPERATOR)
    now = now or utcnow()
    tenant = principal.tenant_id
    active = (Charger.tenant_id == tenant, col(Charger.retired_at).is_(None))
    site_names = dict(db.exec(select(Site.id, Site.name).where(Site.tenant_id == tenant)).all())

    faulted = db.exec(
        select(Connector, Charger.charge_point_id, Charger.site_id)
        .join(Charger, col(Charger.id) == Connector.charger_id)
        .where(*active, or_(Connector.status == "Faulted", col(Connector.error_code).not_in(["NoError", ""])))
        .order_by(col(Connector.updated_at))
        .limit(LIMIT)
    ).all()
    offline = db.exec(
        select(Charger)
        .join(Site, col(Site.id) == Charger.site_id, isouter=True)
        .where(
            *active,
            col(Charger.is_online).is_(False),
            or_(col(Site.id).is_(None), col(Site.lifecycle_state).not_in(QUIET)),
        )
        .order_by(col(Charger.last_seen_at))
        .limit(LIMIT)
    ).all()
    flagged = db.exec(
        select(ChargingSession, Charger.charge_point_id, Charger.site_id)
        .join(Charger, col(Charger.id) == ChargingSession.charger_id)
        .where(*active, col(ChargingSession.review_pending).is_(True))
        .order_by(col(ChargingSession.start_utc))
        .limit(LIMIT)
    ).all()
    stuck = db.exec(
        select(ChargingSession, Charger.charge_point_id, Charger.site_id)
        .join(Charger, col(Charger.id) == ChargingSession.charger_id)
        .where(
            *active,
            col(ChargingSession.end_utc).is_(None),
            or_(col(ChargingSession.start_utc) < now - STUCK_AFTER, col(Charger.is_online).is_(False)),
        )
        .order_by(col(ChargingSession.start_utc))
        .limit(LIMIT)
    ).all()
    items: list[dict[str, Any]] = []
    for connector, cp_id, site_id in faulted:
        items.append(
            _item(
                "faulted",
                cp_id,
                site_names.get(site_id),
                connector.updated_at,
                f"connector {connector.connector_id}: {connector.status} {connector.error_code}",
                detail={
                    "connector": connector.connector_id,
                    "status": connector.status,
                    "error_code": connector.error_code,
                },
            )
        )
    for charger in offline:
        items.append(
            _item(
                "offline",
                charger.charge_point_id,
                site_names.get(charger.site_id),
                charger.last_seen_at,
                "offline",
                detail={},
            )
        )
    for session, cp_id, site_id in flagged:
        items.append(
            _item(
                "flagged",
                cp_id,
                site_names.get(site_id),
                session.start_utc,
                f"{session.transaction_id}: {session.flags or 'review'}",
                detail={"transaction_id": session.transaction_id, "flags": session.flags},
            )
        )
    for session, cp_id, site_id in stuck:
        items.append(
            _item(
                "stuck",
                cp_id,
                site_names.get(site_id),
                session.start_utc,
                f"{session.transaction_id} open",
                detail={"transaction_id": session.transaction_id},
            )
        )
    items += _overdue(db, tenant, now)
    counts = {kind: sum(1 for i in items if i["kind"] == kind) for kind in KINDS}
    return {"counts": counts, "items": items}


def _overdue(db: Session, tenant: int | None, now: datetime) -> list[dict[str, Any]]:
    """Lifecycle steps past their date. "Today" is the UTC date: a step due on a day is overdue once
    that day is over everywhere the sponsor might be, give or take the hours a zone is ahead."""
    today = now.date()
    steps = db.exec(
        select(SpvLifecycleStep, Spv.name)
        .join(Spv, col(Spv.id) == SpvLifecycleStep.spv_id)
        .where(
            Spv.sponsor_tenant_id == tenant,
            col(SpvLifecycleStep.done_on).is_(None),
            col(SpvLifecycleStep.due) < today,
        )
        .order_by(col(SpvLifecycleStep.due))
        .limit(LIMIT)
    ).all()
    sites = db.exec(
        select(Site)
        .where(
            Site.tenant_id == tenant,
            col(Site.lifecycle_state).in_(NOT_YET_OPERATING),
            col(Site.commissioning_date).is_not(None),
            col(Site.commissioning_date) < today,
        )
        .order_by(col(Site.commissioning_date))
        .limit(LIMIT)
    ).all()
    items = [
        _item(
            "overdue",
            "",
            spv_name,
            _midnight(step.due),
            f"{step.title} ({step.owner})",
            link="/operator/spvs",
            detail={"step": step.title, "owner": step.owner},
        )
        for step, spv_name in steps
    ]
    items += [
        _item(
            "overdue",
            "",
            site.name,
            _midnight(site.commissioning_date),
            f"commissioning due, still {site.lifecycle_state}",
            link=f"/operator/sites/{site.id}",
            detail={"lifecycle_state": str(site.lifecycle_state)},
        )
        for site in sites
    ]
    return items


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


def _item(
    kind: str,
    cp_id: str,
    site: str | None,
    since: datetime | None,
    what: str,
    link: str | None = None,
    *,
    detail: dict[str, Any],
) -> dict[str, Any]:
    """`what` is the item in English words (the API's); `detail` its parts, which the console words in
    the reader's language (portals/operator/attention_view.py; the API's model leaves them out)."""
    return {
        "kind": kind,
        "charge_point_id": cp_id,
        "site": site or "",
        "since_utc": since,
        "what": what,
        "detail": detail,
        "link": link or _link(cp_id),
    }
