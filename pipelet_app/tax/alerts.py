"""Compliance alerts of an SPV (lifecycle steps, Form 1065 due dates, §30C deadlines), and their e-mail.

The operator console shows the same alerts this module mails, so both read them from `spv_alerts`.
Each alert is mailed once per SPV (`spv_alerts_sent`); a failed send records nothing and is retried on
the next run.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlmodel import Session, select

from pipelet_app.db.models import (
    Role,
    Spv,
    SpvAlertSent,
    SpvAsset,
    SpvAssetPort,
    SpvLifecycleStep,
    SpvTaxYear,
    Tenant,
    User,
)
from pipelet_app.domain.tax.compliance import (
    Alert,
    Phase,
    Severity,
    Step,
    filing_alerts,
    section_30c_alerts,
    step_alerts,
)
from pipelet_app.domain.tax.macrs import TaxYear
from pipelet_app.notify.mail import send_mail

log = logging.getLogger(__name__)


def lifecycle_steps(db: Session, spv_id: int) -> list[Step]:
    rows = db.exec(
        select(SpvLifecycleStep).where(SpvLifecycleStep.spv_id == spv_id).order_by(SpvLifecycleStep.due)
    ).all()
    return [Step(r.step_key, Phase[r.phase.upper()], r.title, r.owner, r.due, r.done_on) for r in rows]


def port_deadlines(db: Session, spv_id: int) -> list[tuple[str, date]]:
    rows = db.exec(
        select(SpvAssetPort)
        .join(SpvAsset, SpvAsset.id == SpvAssetPort.asset_id)
        .where(SpvAsset.spv_id == spv_id)
    ).all()
    return [(p.port_key, p.placed_in_service) for p in rows]


def spv_alerts(db: Session, spv: Spv, today: date) -> list[Alert]:
    tenant = db.get(Tenant, spv.sponsor_tenant_id)
    sponsor = tenant.name if tenant else spv.name
    alerts = step_alerts(lifecycle_steps(db, spv.id or 0), today)
    for row in db.exec(
        select(SpvTaxYear).where(SpvTaxYear.spv_id == spv.id).order_by(SpvTaxYear.tax_year)
    ).all():
        alerts += filing_alerts(
            TaxYear.starting(row.tax_year, spv.first_month or 1),
            today,
            extended=row.extended,
            filed=str(row.status) == "filed",
            owner=sponsor,
        )
    alerts += section_30c_alerts(port_deadlines(db, spv.id or 0), today, owner=sponsor)
    return alerts


def _body(spv: Spv, alerts: list[Alert]) -> str:
    lines = [f"Compliance alerts for {spv.name}:", ""]
    for a in alerts:
        lines.append(f"- [{a.severity.value}] {a.title} (due {a.due.isoformat()}, owner {a.owner})")
        lines.append(f"  {a.message}")
    lines += ["", "See them in Pipelet under Partnerships (SPVs)."]
    return "\n".join(lines)


def email_new_alerts(db: Session, today: date) -> int:
    """Mail every SPV's new warning and overdue alerts to its sponsor's operators; returns mails sent."""
    sent = 0
    for spv in db.exec(select(Spv).order_by(Spv.id)).all():
        already = set(db.exec(select(SpvAlertSent.alert_key).where(SpvAlertSent.spv_id == spv.id)).all())
        new = [
            a
            for a in spv_alerts(db, spv, today)
            if a.severity in (Severity.WARNING, Severity.OVERDUE) and a.key not in already
        ]
        recipients = list(
            db.exec(
                select(User.email).where(
                    User.tenant_id == spv.sponsor_tenant_id, User.role == Role.OPERATOR, User.is_active
                )
            ).all()
        )
        if not new or not recipients:
            continue
        send_mail(recipients, f"[Pipelet] {len(new)} compliance alert(s) for {spv.name}", _body(spv, new))
        for alert in new:
            db.add(SpvAlertSent(spv_id=spv.id, alert_key=alert.key))
        db.commit()
        sent += 1
        log.info("mailed %d alert(s) of SPV %s to %d operator(s)", len(new), spv.id, len(recipients))
    return sent
