"""Security-profile upgrades without fallback (OCPP 2.0.1 A05, TC_A_19; 1.6 security whitepaper).

Every charger has a floor, `chargers.security_profile` (0 = any): a connection below it is refused at the
upgrade. The floor moves only up, and only once the charger has shown it can do better: an accepted
SetNetworkProfile (2.0.1, `connectionData.securityProfile`) or ChangeConfiguration `SecurityProfile`
(1.6) records the announced profile as `security_profile_target`; the first connection at that profile
or above raises the floor to it and clears the target. A charger that fails to come up on the new profile
and falls back to its old slot is therefore not locked out before it ever succeeded, and once it has, an
old connection profile (a downgrade attack, or a stale configuration slot) is refused.

Profiles of a connection (`tls.connection_profile`): 3 TLS with a verified client certificate, 2 TLS,
1 plain with Basic credentials, 0 plain without.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from pipelet_app.db.models import Charger


def announced_profile(action: str, payload: dict[str, Any], answer: dict[str, Any]) -> int | None:
    """The profile an accepted command told the charger to use from its next connection, if any."""
    try:
        if action == "SetNetworkProfile" and answer.get("status") == "Accepted":
            return int(payload["connectionData"]["securityProfile"])
        if (
            action == "ChangeConfiguration"
            and payload.get("key") == "SecurityProfile"
            and answer.get("status") in ("Accepted", "RebootRequired")
        ):
            return int(payload["value"])
    except (KeyError, TypeError, ValueError):
        return None
    return None


def refusal(profile: int, floor: int) -> str | None:
    """Why a connection at `profile` is refused for a charger whose floor is `floor` (None: it is not)."""
    if profile < floor:
        return f"security profile {floor} or higher required (connected with {profile})"
    return None


def record_target(db: Session, charger_id: int, profile: int) -> None:
    """Remember an announced profile above the floor; the floor itself moves at the next such connection."""
    charger = db.get(Charger, charger_id)
    if charger is not None and profile > charger.security_profile:
        charger.security_profile_target = profile
        db.add(charger)


def reached(db: Session, charger_id: int, profile: int) -> None:
    """The charger connected at `profile`, at or above its announced target: that is its floor now."""
    db.exec(  # type: ignore[call-overload]
        update(Charger)
        .where(Charger.id == charger_id, Charger.security_profile < profile)  # type: ignore[arg-type]
        .values(security_profile=profile, security_profile_target=None)
    )
