"""E-mail to a tenant's operators when a connector goes into fault and when it recovers (through
SMTP_URL), debounced, to each operator who subscribed (operations/notifications.py) for that site.

Debounce: a fault is mailed only once it has lasted `DEBOUNCE` (5 minutes) and is still open, so a
Faulted blip that clears by itself sends nothing; a mailed fault's recovery is mailed once the
connector has been free of faults for `DEBOUNCE`, so a flapping connector sends at most one pair per
period of calm. Each fault period is mailed once and recovers once: the notices are audit rows
(`FaultNotified` / `RecoveryNotified` on object `fault_period`/<period id>), which is also how the trail
shows them. One run sends one mail per operator listing all their new faults (or recoveries). Retired
and unclaimed chargers are left out. Without SMTP_URL nothing is marked, so the news goes out once mail
is configured.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from pipelet_app import audit
from pipelet_app.clock import utcnow
from pipelet_app.db.models import AuditEvent, Charger, ConnectorStatusPeriod
from pipelet_app.domain.availability import NO_ERROR
from pipelet_app.domain.durations import duration_text
from pipelet_app.notify.mail import send_mail
from pipelet_app.operations.notifications import recipients

DEBOUNCE = timedelta(minutes=5)
LOOKBACK = timedelta(days=2)  # a fault older than this when mail first works is not news any more
NOTICE = "FaultNotified"
RECOVERED = "RecoveryNotified"


@dataclass(frozen=True)
class Fault:
    period: ConnectorStatusPeriod
    charge_point_id: str
    site_id: int | None


def is_fault(period: ConnectorStatusPeriod) -> bool:
    return period.status == "Faulted" or (period.error_code or "NoError") not in NO_ERROR


def _noticed(db: Session, action: str, period_ids: list[int]) -> set[str]:
    if not period_ids:
        return set()
    return set(
        db.exec(
            select(AuditEvent.object_id).where(
                AuditEvent.object_type == "fault_period",
                AuditEvent.action == action,
                col(AuditEvent.object_id).in_([str(i) for i in period_ids]),
            )
        ).all()
    )


def _periods(db: Session, *where) -> list[tuple[ConnectorStatusPeriod, str, int, int | None]]:
    return list(
        db.exec(
            select(ConnectorStatusPeriod, Charger.charge_point_id, Charger.tenant_id, Charger.site_id)
            .join(Charger, col(Charger.id) == ConnectorStatusPeriod.charger_id)
            .where(col(Charger.tenant_id).is_not(None), col(Charger.retired_at).is_(None), *where)
        ).all()
    )


def pending(db: Session, now: datetime) -> dict[int, list[Fault]]:
    """Open faults of at least DEBOUNCE not yet mailed, by tenant."""
    rows = _periods(
        db,
        col(ConnectorStatusPeriod.ended_at).is_(None),
        col(ConnectorStatusPeriod.started_at) <= now - DEBOUNCE,
        col(ConnectorStatusPeriod.started_at) >= now - LOOKBACK,
    )
    faults = [(p, cp, tenant, site) for p, cp, tenant, site in rows if is_fault(p)]
    sent = _noticed(db, NOTICE, [p.id for p, *_ in faults if p.id is not None])
    by_tenant: dict[int, list[Fault]] = defaultdict(list)
    for p, cp, tenant, site in faults:
        if str(p.id) not in sent:
            by_tenant[tenant].append(Fault(p, cp, site))
    return by_tenant


def recovered(db: Session, now: datetime) -> dict[int, list[Fault]]:
    """Mailed faults that ended, whose connector has had no fault for DEBOUNCE since, not yet mailed
    as recovered, by tenant."""
    mailed = set(
        db.exec(
            select(AuditEvent.object_id).where(
                AuditEvent.object_type == "fault_period",
                AuditEvent.action == NOTICE,
                AuditEvent.at >= now - LOOKBACK - timedelta(days=1),
            )
        ).all()
    )
    ids = [int(i) for i in mailed if i.isdigit()]
    if not ids:
        return {}
    ended = _periods(
        db,
        col(ConnectorStatusPeriod.id).in_(ids),
        col(ConnectorStatusPeriod.ended_at).is_not(None),
        col(ConnectorStatusPeriod.ended_at) <= now - DEBOUNCE,
    )
    done = _noticed(db, RECOVERED, [p.id for p, *_ in ended if p.id is not None])
    by_tenant: dict[int, list[Fault]] = defaultdict(list)
    for p, cp, tenant, site in ended:
        if str(p.id) in done or _faulted_since(db, p):
            continue
        by_tenant[tenant].append(Fault(p, cp, site))
    return by_tenant


def _faulted_since(db: Session, period: ConnectorStatusPeriod) -> bool:
    """A fault on the same connector after this one ended: not recovered (the new fault is its own news)."""
    later = db.exec(
        select(ConnectorStatusPeriod).where(
            ConnectorStatusPeriod.charger_id == period.charger_id,
            ConnectorStatusPeriod.connector_id == period.connector_id,
            col(ConnectorStatusPeriod.started_at) >= period.ended_at,
        )
    ).all()
    return any(is_fault(p) for p in later)


def send_fault_mails(db: Session, now: datetime | None = None) -> int:
    """Mail new faults, then recoveries, to each subscribed operator; returns how many mails were sent."""
    now = now or utcnow()
    mails = 0
    for tenant_id, faults in pending(db, now).items():
        mails += _mail(db, tenant_id, faults, "faults", NOTICE)
    for tenant_id, faults in recovered(db, now).items():
        mails += _mail(db, tenant_id, faults, "recoveries", RECOVERED)
    return mails


def _mail(db: Session, tenant_id: int, faults: list[Fault], kind: str, action: str) -> int:
    sent = 0
    for user, subscription in recipients(db, tenant_id, kind):
        mine = sorted(
            (f for f in faults if subscription.covers(f.site_id)),
            key=lambda f: (f.charge_point_id, f.period.connector_id),
        )
        if not mine:
            continue
        if kind == "faults":
            subject = f"Pipelet: {len(mine)} connector fault(s)"
            lines = ["New faults:", *(_fault_line(f) for f in mine)]
        else:
            subject = f"Pipelet: {len(mine)} connector(s) recovered"
            lines = ["Recovered:", *(_recovery_line(f) for f in mine)]
        send_mail([user.email], subject, "\n".join(lines))
        sent += 1
    for f in faults:  # marked whether or not anyone subscribed: the news is the same for a later subscriber
        audit.record(
            db, None, action, "fault_period", f.period.id or 0, {"charger": [None, f.charge_point_id]},
            tenant_id=tenant_id,
        )  # fmt: skip
    db.commit()  # per tenant: a later failure does not resend what went out
    return sent


def _fault_line(f: Fault) -> str:
    p = f.period
    return (
        f"- {f.charge_point_id} connector {p.connector_id}: {p.status} {p.error_code}"
        f" since {p.started_at:%Y-%m-%d %H:%M} UTC — /operator/chargers/{f.charge_point_id}"
    )


def _recovery_line(f: Fault) -> str:
    p = f.period
    lasted = duration_text((p.ended_at - p.started_at).total_seconds()) if p.ended_at else "?"
    return (
        f"- {f.charge_point_id} connector {p.connector_id}: {p.status} {p.error_code} over at"
        f" {p.ended_at:%Y-%m-%d %H:%M} UTC after {lasted} — /operator/chargers/{f.charge_point_id}"
    )
