"""The daily digest: yesterday at the operator's sites in one e-mail, sent at the hour they chose.

"Yesterday" is the local day in the subscription's zone (the sites' zone by default), so it has 23 or
25 hours on the days clocks change, and a digest is sent once per user and local day (an audit row
`DigestSent` on object `digest`/`<user id>:<local date>` says so, like the fault notices). What it
lists: faults that began that day (still open or how long they lasted), chargers offline now,
finished sessions and their energy, each for the sites the user follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from pipelet_app import audit
from pipelet_app.clock import utcnow
from pipelet_app.db.models import AuditEvent, Charger, ChargingSession, ConnectorStatusPeriod, User
from pipelet_app.domain.durations import duration_text
from pipelet_app.notify.mail import send_mail
from pipelet_app.operations.fault_mail import is_fault
from pipelet_app.operations.notifications import Subscription, recipients, tenant_zone

SENT = "DigestSent"


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants of the local midnights that start `day` and the day after (23 or 25 h apart on
    the days clocks change)."""
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


@dataclass(frozen=True)
class Digest:
    day: date
    zone: str
    faults: list[str]
    offline: list[str]
    sessions: int
    energy_kwh: float

    def text(self) -> str:
        lines = [f"Your sites on {self.day:%Y-%m-%d} ({self.zone}):", ""]
        lines.append(f"Finished sessions: {self.sessions}, {self.energy_kwh:.1f} kWh")
        lines.append(f"Faults that began: {len(self.faults)}")
        lines += [f"- {f}" for f in self.faults]
        lines.append(f"Chargers offline now: {len(self.offline)}")
        lines += [f"- {cp} — /operator/chargers/{cp}" for cp in self.offline]
        lines += ["", "What needs attention now: /operator"]
        return "\n".join(lines)


def build(db: Session, tenant_id: int, sub: Subscription, day: date, zone_name: str, now: datetime) -> Digest:
    start, end = local_day_bounds(day, ZoneInfo(zone_name))
    chargers = {
        c.id: c
        for c in db.exec(
            select(Charger).where(Charger.tenant_id == tenant_id, col(Charger.retired_at).is_(None))
        ).all()
        if sub.covers(c.site_id)
    }
    ids = list(chargers)
    periods = db.exec(
        select(ConnectorStatusPeriod)
        .where(
            col(ConnectorStatusPeriod.charger_id).in_(ids),
            col(ConnectorStatusPeriod.started_at) >= start,
            col(ConnectorStatusPeriod.started_at) < end,
        )
        .order_by(col(ConnectorStatusPeriod.started_at))
    ).all()
    faults = []
    for p in periods:
        if not is_fault(p):
            continue
        lasted = (
            f"lasted {duration_text((p.ended_at - p.started_at).total_seconds())}"
            if p.ended_at
            else f"still open ({duration_text((now - p.started_at).total_seconds())})"
        )
        cp = chargers[p.charger_id].charge_point_id
        faults.append(
            f"{cp} connector {p.connector_id}: {p.status} {p.error_code}, "
            f"{p.started_at.astimezone(ZoneInfo(zone_name)):%H:%M}, {lasted}"
        )
    count, energy = db.exec(
        select(func.count(), func.coalesce(func.sum(ChargingSession.energy_wh), 0.0)).where(
            col(ChargingSession.charger_id).in_(ids),
            col(ChargingSession.end_utc) >= start,
            col(ChargingSession.end_utc) < end,
        )
    ).one()
    offline = sorted(c.charge_point_id for c in chargers.values() if not c.is_online)
    return Digest(day, zone_name, faults, offline, int(count), float(energy) / 1000.0)


def send_digests(db: Session, now: datetime | None = None) -> int:
    """Send every due digest (the user's local hour reached, none sent for their local today); returns
    how many went out. A user's digest is marked right after it is sent, so a failure later in the run
    resends nothing."""
    now = now or utcnow()
    tenants = db.exec(
        select(User.tenant_id).where(col(User.tenant_id).is_not(None), col(User.is_active).is_(True))
    ).all()
    sent = 0
    for tenant_id in sorted({t for t in tenants if t is not None}):
        default_zone = None
        for user, sub in recipients(db, tenant_id, "daily_digest"):
            if sub.timezone is None and default_zone is None:
                default_zone = tenant_zone(db, tenant_id)
            zone_name = sub.timezone or default_zone or "UTC"
            local_now = now.astimezone(ZoneInfo(zone_name))
            if local_now.hour < sub.digest_hour:
                continue
            key = f"{user.id}:{local_now.date().isoformat()}"
            if _already(db, key):
                continue
            digest = build(db, tenant_id, sub, local_now.date() - timedelta(days=1), zone_name, now)
            send_mail([user.email], f"Pipelet: your sites on {digest.day:%Y-%m-%d}", digest.text())
            audit.record(db, None, SENT, "digest", key, {"to": [None, user.email]}, tenant_id=tenant_id)
            db.commit()
            sent += 1
    return sent


def _already(db: Session, key: str) -> bool:
    return (
        db.exec(
            select(AuditEvent.id).where(AuditEvent.object_type == "digest", AuditEvent.object_id == key)
        ).first()
        is not None
    )
