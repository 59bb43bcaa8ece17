"""A charger's identity as its operator manages it: create a charger, claim an auto-registered one, rotate
its Basic password, choose its auth mode. Each call checks the operator role and the tenant itself.

A generated password is returned exactly once (the caller shows it) and stored only as an argon2 hash.
Every change is audited as a CSMS security event on the charger (`ocpp_security_events`, source
"operator", naming the user), beside the charger's own security events.

Rules (docs/charger-identity.md):
- claim: only an unclaimed charger (no tenant); one claimed by another tenant is "not found" (404),
  one the caller's tenant already holds is a conflict (409). The site must be the caller's own.
  Claiming sets auth mode "basic" and a fresh password; an unauthenticated socket the charger may
  still hold is closed by the CSMS within its directory refresh, and it must reconnect with it.
- rotate: a fresh password replaces the old one at once; a socket admitted with the old one is closed
  within the CSMS's directory refresh. (To hand the charger a password over its live socket, send
  `change-configuration` `AuthorizationKey` / `SetVariables` `BasicAuthPassword` instead.)
- auth mode "none": the charger is admitted without credentials; the charger page warns about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, NotFound, Principal, require, require_tenant
from pipelet_app.clock import utcnow
from pipelet_app.db.models import Charger, ChargerAuthMode, Role, Site
from pipelet_app.errors import Conflict
from pipelet_app.ocpp import chargers as charger_store
from pipelet_app.ocpp.identity import hash_password, id_problem, new_password


class AlreadyClaimed(Conflict):
    """Another operator's charger already has this id."""


@dataclass(frozen=True, slots=True)
class Claimed:
    charge_point_id: str
    site_id: int | None
    password: str
    online_version: str = ""  # the OCPP version of its live socket, when the charger was online


def _audit(
    db: Session,
    charger: Charger,
    event_type: str,
    principal: Principal | None,
    info: str = "",
    changes: dict[str, Any] | None = None,
) -> None:
    """Both the charger's security events and the audit trail shown on its page."""
    audit.record(
        db, principal, event_type, "charger", charger.charge_point_id, changes, tenant_id=charger.tenant_id
    )
    who = f"by user {principal.user_id} ({principal.email})" if principal is not None else "by the system"
    charger_store.record_security_event(
        db,
        charger.charge_point_id,
        event_type,
        utcnow(),
        charger_id=charger.id,
        tech_info=f"{who}{'; ' + info if info else ''}",
        source="operator",
    )


def _set_password(db: Session, charger: Charger) -> str:
    password = new_password()
    charger.basic_auth_hash = hash_password(password)
    db.add(charger)
    return password


def create_charger(db: Session, principal: Principal, charge_point_id: str, site_id: int) -> Claimed:
    """A new charger in one of the caller's sites, auth mode "basic" with a generated password (returned
    once). The id must be in the safe charset (`ocpp.identity`); an id that exists anywhere is a conflict
    (409), without saying whose it is."""
    require(principal, Role.OPERATOR)
    if problem := id_problem(charge_point_id):
        raise InvalidInput(problem)
    site = db.get(Site, site_id)
    if site is None or site.tenant_id != principal.tenant_id:
        raise NotFound("site_id: no such site in your tenant")
    if db.exec(select(Charger.id).where(Charger.charge_point_id == charge_point_id)).first() is not None:
        raise AlreadyClaimed("charge_point_id: already registered")
    charger = Charger(
        charge_point_id=charge_point_id,
        tenant_id=principal.tenant_id,
        site_id=site.id,
        auth_mode=ChargerAuthMode.BASIC,
    )
    password = _set_password(db, charger)
    db.flush()
    _audit(db, charger, "ChargerCreated", principal, f"site {site.id}", {"site_id": [None, site.id]})
    db.commit()
    return Claimed(charge_point_id, site.id, password)


def claim_charger_row(db: Session, charger_id: int, tenant_id: int, site_id: int | None) -> str:
    """Take an unclaimed charger into a tenant (and site) with a fresh password; returns the password.
    No permission checks: for `claim_charger` and tests."""
    charger = db.get(Charger, charger_id)
    if charger is None or charger.tenant_id is not None:
        raise LookupError(charger_id)
    charger.tenant_id = tenant_id
    charger.site_id = site_id
    charger.auth_mode = ChargerAuthMode.BASIC
    return _set_password(db, charger)


def claim_charger(db: Session, principal: Principal, charge_point_id: str, site_id: int) -> Claimed:
    require(principal, Role.OPERATOR)
    charger = db.exec(select(Charger).where(Charger.charge_point_id == charge_point_id)).first()
    if charger is None or (charger.tenant_id is not None and charger.tenant_id != principal.tenant_id):
        raise NotFound("Not found.")
    if charger.tenant_id is not None:
        raise AlreadyClaimed("charge point: already claimed by your tenant")
    site = db.get(Site, site_id)
    if site is None or site.tenant_id != principal.tenant_id:
        raise NotFound("site_id: no such site in your tenant")
    assert charger.id is not None and principal.tenant_id is not None
    password = claim_charger_row(db, charger.id, principal.tenant_id, site.id)
    _audit(
        db,
        charger,
        "ChargerClaimed",
        principal,
        f"site {site.id}",
        {"tenant": [None, principal.tenant_id], "site_id": [None, site.id], "password": ["", ""]},
    )
    db.commit()
    online = charger.ocpp_version if charger.is_online else ""
    return Claimed(charger.charge_point_id, site.id, password, online)


def rotate_password(db: Session, principal: Principal, charge_point_id: str) -> str:
    """A new Basic password for one of the caller's chargers; returned once, stored hashed."""
    charger = _own(db, principal, charge_point_id)
    password = _set_password(db, charger)
    _audit(db, charger, "BasicAuthPasswordRotated", principal, changes={"password": ["", ""]})
    db.commit()
    return password


def set_auth_mode(db: Session, principal: Principal, charge_point_id: str, mode: str) -> ChargerAuthMode:
    try:
        chosen = ChargerAuthMode(mode)
    except ValueError:
        raise InvalidInput(
            f"auth_mode: must be one of {', '.join(m.value for m in ChargerAuthMode)}"
        ) from None
    charger = _own(db, principal, charge_point_id)
    if charger.auth_mode != chosen:
        before = charger.auth_mode
        charger.auth_mode = chosen
        db.add(charger)
        _audit(
            db, charger, "AuthModeChanged", principal, f"now {chosen.value}", {"auth_mode": [before, chosen]}
        )
        db.commit()
    return chosen


def _own(db: Session, principal: Principal, charge_point_id: str) -> Charger:
    require(principal, Role.OPERATOR)
    charger = db.exec(select(Charger).where(Charger.charge_point_id == charge_point_id)).first()
    if charger is None:
        raise NotFound("Not found.")
    require_tenant(principal, charger.tenant_id)
    return charger
