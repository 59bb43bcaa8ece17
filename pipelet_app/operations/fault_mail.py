"""E-mail to a tenant's operators when a connector goes into fault (through SMTP_URL), debounced.

Debounce: a fault is mailed only once it has lasted `DEBOUNCE` (5 minutes) and is still open, so a
Faulted blip that clears by itself sends nothing; each fault period is mailed once (the notice is an
audit row, `FaultNotified` on object `fault_period`/<period id>, which is also how the trail shows it),
and one run sends one mail per tenant listing all its new faults. Retired and unclaimed chargers are
left out. Without SMTP_URL nothing is marked, so the faults are mailed once mail is configured.

Not done: per-user subscriptions and a daily digest (every active operator of the tenant gets it).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from pipelet_app import audit
from pipelet_app.clock import utcnow
from pipelet_app.db.models import AuditEvent, Charger, ConnectorStatusPeriod, Role, User
from pipelet_app.domain.availability import NO_ERROR
from pipelet_app.notify.mail import send_mail

DEBOUNCE = timedelta(minutes=5)
LOOKBACK = timedelta(days=2)  # a fault older than this when mail first works is not news any more
NOTICE = "FaultNotified"


def pending(db: Session, now: datetime) -> dict[int, list[tuple[ConnectorStatusPeriod, str]]]:
    """Open faults of at least DEBOUNCE not yet mailed, by tenant: (period, charge point id)."""
    rows = db.exec(
        select(ConnectorStatusPeriod, Charger.charge_point_id, Charger.tenant_id)
        .join(Charger, col(Charger.id) == ConnectorStatusPeriod.charger_id)
        .where(
            col(Charger.tenant_id).is_not(None),
            col(Charger.retired_at).is_(None),
            col(ConnectorStatusPeriod.ended_at).is_(None),
            col(ConnectorStatusPeriod.started_at) <= now - DEBOUNCE,
            col(ConnectorStatusPeriod.started_at) >= now - LOOKBACK,
        )
    ).all()
    faults = [
        (p, cp, tenant)
        for p, cp, tenant in rows
        if p.status == "Faulted" or (p.error_code or "NoError") not in NO_ERROR
    ]
    if not faults:
        return {}
    sent = set(
        db.exec(
            select(AuditEvent.object_id).where(
                AuditEvent.object_type == "fault_period",
                col(AuditEvent.object_id).in_([str(p.id) for p, _, _ in faults]),
            )
        ).all()
    )
    by_tenant: dict[int, list[tuple[ConnectorStatusPeriod, str]]] = defaultdict(list)
    for p, cp, tenant in faults:
        if str(p.id) not in sent:
            by_tenant[tenant].append((p, cp))
    return by_tenant


def send_fault_mails(db: Session, now: datetime | None = None) -> int:
    """Mail each tenant's new faults to its active operators; returns how many mails were sent."""
    now = now or utcnow()
    mails = 0
    for tenant_id, faults in pending(db, now).items():
        to = list(
            db.exec(
                select(User.email).where(
                    User.tenant_id == tenant_id, User.role == Role.OPERATOR, col(User.is_active).is_(True)
                )
            ).all()
        )
        if not to:
            continue
        lines = [
            f"- {cp} connector {p.connector_id}: {p.status} {p.error_code}"
            f" since {p.started_at:%Y-%m-%d %H:%M} UTC — /operator/chargers/{cp}"
            for p, cp in sorted(faults, key=lambda f: (f[1], f[0].connector_id))
        ]
        send_mail(
            sorted(to), f"Pipelet: {len(faults)} connector fault(s)", "\n".join(["New faults:", *lines])
        )
        for p, cp in faults:
            audit.record(db, None, NOTICE, "fault_period", p.id, {"charger": [None, cp]}, tenant_id=tenant_id)  # type: ignore[arg-type]
        db.commit()  # per tenant: a later failure does not resend what went out
        mails += 1
    return mails
