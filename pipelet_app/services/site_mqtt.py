"""A site's MQTT broker credential: issued (or rotated) by an operator of the site's tenant, shown once.

Why here and not only in `pipelet mqtt-acl`: the credential is the operator's to hand to their gateway
installer, and to replace when a gateway is lost or an installer leaves, without asking whoever runs the
server. The database keeps Mosquitto's hash of it (`site_mqtt_credentials`), never the password.

Where the broker can be told at once (MQTT_ADMIN_URL: `pipelet run`'s embedded broker, or an operator's
own Mosquitto with the dynamic security plugin) the new password is pushed before the row is committed:
the answer shows a password only once the broker took it, and a broker that does not confirm leaves
everything as it was (502; the old password still works). A broker that took the command and then did
not answer in time may or may not have applied it: still 502 with the database unchanged, but the answer
says the outcome is unknown and to issue again (a new issue replaces whatever the broker holds). Without
MQTT_ADMIN_URL the hash is stored and `pipelet mqtt-acl` carries it into Mosquitto's password file on its
next run (the answer says so).

The login is bound to one MQTT client id (`site_client_id`, returned as `client_id`) on a dynamic-security
broker, so one site's login cannot take over another site's gateway session by reusing its client id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from pipelet_app import audit
from pipelet_app.auth import Principal
from pipelet_app.db.models import Site, SiteMqttCredential
from pipelet_app.db.types import utcnow
from pipelet_app.domain.mqtt_access import hash_password, new_password, site_client_id, site_topics, site_user
from pipelet_app.errors import AppError
from pipelet_app.services.sites import own_site
from pipelet_app.settings import get_settings
from pipelet_app.site_energy import broker_admin


class BrokerUnavailable(AppError):
    """The broker did not confirm the new credential; nothing changed."""

    status = 502


def credential_status(db: Session, principal: Principal, site_id: int) -> dict[str, Any]:
    """The site's broker user, the client id it must connect with, and when its current password was
    issued (None: never), no secret."""
    own_site(db, principal, site_id)
    row = db.get(SiteMqttCredential, site_id)
    return {
        "username": site_user(site_id),
        "client_id": site_client_id(site_id),
        "issued_at": row.issued_at if row else None,
    }


async def issue_credential(db: Session, principal: Principal, site_id: int) -> dict[str, Any]:
    """A new password for the site's gateway user, replacing any earlier one; the answer is the only
    place the password appears. Another tenant's site is NotFound like a missing one."""
    own_site(db, principal, site_id)
    # One issue per site at a time: a second request waits here until the first has committed, then
    # replaces its password, instead of failing on the primary key while the first waits for the broker.
    # A write that changes nothing, because it locks on both databases: the site's row on PostgreSQL,
    # the file on SQLite (where SELECT ... FOR UPDATE is no lock at all).
    db.exec(update(Site).where(col(Site.id) == site_id).values(tenant_id=Site.tenant_id))
    password = new_password()
    entry = hash_password(password)
    issued_at: datetime = utcnow()
    row = db.get(SiteMqttCredential, site_id)
    action = "site.mqtt_credential_rotated" if row is not None else "site.mqtt_credential_issued"
    if row is None:
        row = SiteMqttCredential(site_id=site_id, password_hash=entry)
    row.password_hash, row.issued_at, row.issued_by = entry, issued_at, principal.user_id
    db.add(row)
    audit.record(db, principal, action, "site", site_id, {"mqtt_username": [None, site_user(site_id)]})
    db.flush()
    admin_url = get_settings().mqtt_admin_url
    if admin_url:
        try:
            await broker_admin.set_site_password(admin_url, site_id, password)
        except broker_admin.OutcomeUnknown as exc:
            db.rollback()
            raise BrokerUnavailable(
                f"{exc}; the outcome is unknown: the broker may have applied the new password (whose answer"
                " is lost) or kept the previous one. Issue again to get a password that works"
            ) from None
        except broker_admin.BrokerRefused as exc:
            db.rollback()
            raise BrokerUnavailable(f"{exc}; nothing changed, the previous password still works") from None
    db.commit()
    measurements, transactions = site_topics(site_id)
    return {
        "site_id": site_id,
        "username": site_user(site_id),
        "client_id": site_client_id(site_id),
        "password": password,
        "measurements_topic": measurements,
        "transactions_topic": transactions,
        "issued_at": issued_at,
        "live": bool(admin_url),
    }
