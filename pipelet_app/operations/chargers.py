"""The operator's own chargers, their detail and faults, and commands to them.

Every function checks the operator role and the tenant itself; another tenant's charger is reported
exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from pipelet_app.auth import NotFound, Principal, require, require_tenant
from pipelet_app.db.models import Charger, Role
from pipelet_app.ocpp import queries
from pipelet_app.ocpp.commands import send_command
from pipelet_app.settings import get_settings


def own_charger(db: Session, principal: Principal, charge_point_id: str) -> Charger:
    require(principal, Role.OPERATOR)
    charger = db.exec(select(Charger).where(Charger.charge_point_id == charge_point_id)).first()
    if charger is None:
        raise NotFound("Not found.")  # the same words require_tenant uses for another tenant's charger
    require_tenant(principal, charger.tenant_id)
    return charger


def charger_detail(db: Session, principal: Principal, charge_point_id: str) -> dict[str, Any]:
    own_charger(db, principal, charge_point_id)
    detail = queries.charger_detail(db, charge_point_id, principal.tenant_id)
    assert detail is not None  # own_charger just checked it
    return detail


def faults(db: Session, principal: Principal) -> list[dict[str, Any]]:
    require(principal, Role.OPERATOR)
    return queries.faults(db, principal.tenant_id)


async def command(charge_point_id: str, name: str, payload: dict[str, Any] | None) -> dict[str, Any]:
    """Send after `own_charger` has allowed it; raises the command bus's errors (offline, timeout...)."""
    return await send_command(
        charge_point_id, name, payload or {}, timeout=get_settings().csms_command_timeout_s
    )
