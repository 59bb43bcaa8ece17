"""Per-user subscriptions to the operator e-mails: faults, recoveries and a daily digest, for all of the
tenant's sites or a chosen few.

Why per user: a tenant with many sites has several operators, each on call for some of them; one mail
to everyone for everything teaches people to ignore it. A user without a stored choice gets faults and
recoveries for every site and no digest — what every operator received before subscriptions existed,
so nobody silently stops hearing about faults when this shipped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlmodel import Session, col, select

from pipelet_app import audit
from pipelet_app.auth import Principal, require
from pipelet_app.clock import utcnow
from pipelet_app.db.models import NotificationPreference, Role, Site, User
from pipelet_app.errors import InvalidInput

KINDS = ("faults", "recoveries", "daily_digest")


@dataclass(frozen=True)
class Subscription:
    faults: bool = True
    recoveries: bool = True
    daily_digest: bool = False
    digest_hour: int = 7
    timezone: str | None = None
    site_ids: tuple[int, ...] = field(default_factory=tuple)

    def wants(self, kind: str) -> bool:
        return bool(getattr(self, kind))

    def covers(self, site_id: int | None) -> bool:
        """Empty = every site; a charger at no site is news for everyone who follows every site."""
        return not self.site_ids or site_id in self.site_ids


def _of(row: NotificationPreference | None) -> Subscription:
    if row is None:
        return Subscription()
    return Subscription(
        faults=row.faults,
        recoveries=row.recoveries,
        daily_digest=row.daily_digest,
        digest_hour=row.digest_hour,
        timezone=row.timezone,
        site_ids=tuple(sorted(row.site_ids or ())),
    )


def tenant_zone(db: Session, tenant_id: int | None) -> str:
    """The zone most of the tenant's sites are in (UTC without sites): the digest's day by default."""
    zones = Counter(db.exec(select(Site.timezone).where(Site.tenant_id == tenant_id)).all())
    return zones.most_common(1)[0][0] if zones else "UTC"


def recipients(db: Session, tenant_id: int, kind: str) -> list[tuple[User, Subscription]]:
    """The tenant's active operators who want `kind`, each with their subscription (for the site filter)."""
    rows = db.exec(
        select(User, NotificationPreference)
        .join(NotificationPreference, col(NotificationPreference.user_id) == User.id, isouter=True)
        .where(User.tenant_id == tenant_id, User.role == Role.OPERATOR, col(User.is_active).is_(True))
        .order_by(col(User.email))
    ).all()
    return [(user, _of(pref)) for user, pref in rows if _of(pref).wants(kind)]


def my_subscription(db: Session, principal: Principal) -> dict[str, Any]:
    """The caller's choice (or the defaults), with the zone the digest actually uses and the sites to pick."""
    require(principal, Role.OPERATOR)
    sub = _of(db.get(NotificationPreference, principal.user_id))
    sites = db.exec(
        select(Site.id, Site.name).where(Site.tenant_id == principal.tenant_id).order_by(col(Site.name))
    ).all()
    return {
        **asdict(sub),
        "site_ids": list(sub.site_ids),
        "effective_timezone": sub.timezone or tenant_zone(db, principal.tenant_id),
        "sites": [{"id": site_id, "name": name} for site_id, name in sites],
    }


def set_my_subscription(db: Session, principal: Principal, values: dict[str, Any]) -> dict[str, Any]:
    """Validate everything before writing anything; audited with what changed."""
    require(principal, Role.OPERATOR)
    before = _of(db.get(NotificationPreference, principal.user_id))
    new = asdict(before)
    for kind in KINDS:
        if kind in values:
            if not isinstance(values[kind], bool):
                raise InvalidInput(f"{kind}: true or false")
            new[kind] = values[kind]
    if "digest_hour" in values:
        hour = values["digest_hour"]
        if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
            raise InvalidInput("digest_hour: a whole hour from 0 to 23")
        new["digest_hour"] = hour
    if "timezone" in values:
        new["timezone"] = _zone(values["timezone"])
    if "site_ids" in values:
        new["site_ids"] = _own_sites(db, principal, values["site_ids"])
    row = db.get(NotificationPreference, principal.user_id) or NotificationPreference(
        user_id=principal.user_id
    )
    for key, value in new.items():
        setattr(row, key, list(value) if key == "site_ids" else value)
    row.updated_at = utcnow()
    db.add(row)
    old = asdict(before)
    changes = {k: [old[k], new[k]] for k in new if old[k] != new[k]}
    if changes:
        audit.record(db, principal, "NotificationsChanged", "user", principal.user_id, changes)
    db.commit()
    return my_subscription(db, principal)


def _zone(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or value not in available_timezones():
        raise InvalidInput("timezone: an IANA time zone such as Europe/Berlin, or empty for the sites' zone")
    try:
        ZoneInfo(value)
    except ZoneInfoNotFoundError as exc:  # listed but not loadable: the zone database is broken
        raise InvalidInput(f"timezone: {value} cannot be loaded") from exc
    return value


def _own_sites(db: Session, principal: Principal, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise InvalidInput("site_ids: a list of site ids (empty = every site)")
    own = set(db.exec(select(Site.id).where(Site.tenant_id == principal.tenant_id)).all())
    foreign = sorted(set(value) - own)
    if foreign:  # another tenant's site reads exactly like a missing one
        raise InvalidInput(f"site_ids: no such site {foreign[0]}")
    return tuple(sorted(set(value)))
