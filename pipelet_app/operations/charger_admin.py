"""What an operator sets on a charger besides its identity: its name, network and site, its security
profile, retirement, and the firmware versions it reported. Each call checks role and tenant itself
(`own_charger`: another tenant's charger reads as missing) and writes one audit row with what changed.

Registration status: the answer to the station's next BootNotification (Accepted, or Pending /
Rejected to hold it back; ocpp/registration.py).

Security profile: the operator sets the charger's floor (connections below it are refused; the CSMS
also raises it by itself after an announced upgrade, ocpp/security_profile.py). Profiles 2 and 3 need
the CSMS to serve TLS (and client certificates for 3). The auth mode ("basic"/"none") is separate.
Retiring a charger removes its password, so the CSMS refuses it from then on (a "basic" charger without
a password is refused, docs/charger-identity.md); its sessions and histories stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, select

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, Principal
from pipelet_app.clock import utcnow
from pipelet_app.db.models import Charger, ChargerAuthMode, ChargerFirmware, Site
from pipelet_app.errors import Conflict
from pipelet_app.ocpp.registration import STATUSES as REGISTRATION_STATUSES
from pipelet_app.operations.chargers import own_charger
from pipelet_app.settings import get_settings

NETWORKS = ("", "loop", "chargepoint", "evrange", "helios", "tesla", "other")
PROFILES = (0, 1, 2, 3)
EDITABLE = ("display_name", "network", "site_id")


def _record(db: Session, principal: Principal, charger: Charger, action: str, changes: dict) -> None:
    audit.record(
        db, principal, action, "charger", charger.charge_point_id, changes, tenant_id=charger.tenant_id
    )


def update_charger(
    db: Session, principal: Principal, charge_point_id: str, values: Mapping[str, Any]
) -> Charger:
    """Rename it (`display_name`), set its `network`, move it to another of the caller's sites."""
    charger = own_charger(db, principal, charge_point_id)
    values = {k: v for k, v in values.items() if k in EDITABLE}
    if "display_name" in values:
        name = values["display_name"]
        if name is None:
            values["display_name"] = ""
        elif not isinstance(name, str) or len(name.strip()) > 100:
            raise InvalidInput("display_name: at most 100 characters")
        else:
            values["display_name"] = name.strip()
    if "network" in values:
        network = (values["network"] or "").lower()
        if network not in NETWORKS:
            raise InvalidInput(f"network: one of {', '.join(n for n in NETWORKS if n)} (or empty)")
        values["network"] = network
    if "site_id" in values:
        site = db.get(Site, values["site_id"]) if values["site_id"] is not None else None
        if site is None or site.tenant_id != principal.tenant_id:
            raise InvalidInput("site_id: no such site in your tenant")
    before = {k: getattr(charger, k) for k in values}
    for name, value in values.items():
        setattr(charger, name, value)
    if changes := audit.diff(before, values):
        db.add(charger)
        _record(db, principal, charger, "ChargerUpdated", changes)
        db.commit()
    return charger


def set_security_profile(db: Session, principal: Principal, charge_point_id: str, profile: int) -> Charger:
    """Set the charger's floor (`chargers.security_profile`, ocpp/security_profile.py): connections below
    it are refused. 0 = any, 1 = Basic, 2 = TLS + Basic (needs CSMS_TLS_CERT), 3 = TLS with a client
    certificate (needs CSMS_TLS_CLIENT_CA). An operator may lower it too (audited); a pending announced
    upgrade (`security_profile_target`) at or below the new floor is dropped."""
    if profile not in PROFILES:
        raise InvalidInput("security_profile: 0 (any), 1 (Basic), 2 (TLS + Basic) or 3 (TLS + certificate)")
    charger = own_charger(db, principal, charge_point_id)
    settings = get_settings()
    if profile >= 2 and not settings.csms_tls_cert:
        raise Conflict(
            f"security_profile: {profile} needs TLS on the CSMS (set CSMS_TLS_CERT and CSMS_TLS_KEY)"
        )
    if profile == 3 and not settings.csms_tls_client_ca:
        raise Conflict("security_profile: 3 needs client certificates on the CSMS (set CSMS_TLS_CLIENT_CA)")
    if charger.security_profile != profile:
        changes = {"security_profile": [charger.security_profile, profile]}
        charger.security_profile = profile
        if charger.security_profile_target is not None and charger.security_profile_target <= profile:
            charger.security_profile_target = None
        db.add(charger)
        _record(db, principal, charger, "SecurityProfileChanged", changes)
        db.commit()
    return charger


def set_registration_status(db: Session, principal: Principal, charge_point_id: str, status: str) -> Charger:
    """Choose the answer to the station's next BootNotification (OCPP 2.0.1 B02/B03,
    ocpp/registration.py): "Accepted", "Pending" (the operator wants to configure or inspect it first) or
    "Rejected". Idempotent; a change is audited. The CSMS is told by the caller (notify_identity_changed):
    back to Accepted while the station waits in Pending, it is triggered to boot again at once."""
    if status not in REGISTRATION_STATUSES:
        raise InvalidInput(f"registration_status: one of {', '.join(REGISTRATION_STATUSES)}")
    charger = own_charger(db, principal, charge_point_id)
    if charger.registration_status != status:
        changes = {"registration_status": [charger.registration_status, status]}
        charger.registration_status = status
        db.add(charger)
        _record(db, principal, charger, "RegistrationStatusChanged", changes)
        db.commit()
    return charger


def retire_charger(db: Session, principal: Principal, charge_point_id: str) -> Charger:
    """Out of service for good: refused by the CSMS from now on; idempotent."""
    charger = own_charger(db, principal, charge_point_id)
    if charger.retired_at is not None:
        return charger
    charger.retired_at = utcnow()
    charger.basic_auth_hash = None
    charger.auth_mode = ChargerAuthMode.BASIC
    db.add(charger)
    _record(
        db,
        principal,
        charger,
        "ChargerRetired",
        {"retired_at": [None, charger.retired_at], "password": ["", ""]},
    )
    db.commit()
    return charger


def charger_timezone(db: Session, principal: Principal, charge_point_id: str) -> str:
    """The zone of the caller's charger's site, where its times are shown ("UTC" without a site)."""
    charger = own_charger(db, principal, charge_point_id)
    site = db.get(Site, charger.site_id) if charger.site_id is not None else None
    return site.timezone if site is not None else "UTC"


def firmware_history(db: Session, principal: Principal, charge_point_id: str) -> list[dict[str, Any]]:
    """The firmware versions the charger reported, newest first, each from the Boot that first carried it."""
    charger = own_charger(db, principal, charge_point_id)
    rows = db.exec(
        select(ChargerFirmware)
        .where(ChargerFirmware.charger_id == charger.id)
        .order_by(col(ChargerFirmware.id).desc())
    ).all()
    return [{"version": r.version, "seen_utc": r.seen_at} for r in rows]


def history(db: Session, principal: Principal, charge_point_id: str) -> list[dict[str, Any]]:
    """Who changed the charger, when, and what (newest first)."""
    charger = own_charger(db, principal, charge_point_id)
    return audit.history(db, principal.tenant_id, "charger", charger.charge_point_id)
