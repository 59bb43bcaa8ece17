"""An operator's fleet customers (fleet tenants it serves) and their drivers, created without SQL.

A fleet customer is a fleet tenant whose `operator_tenant_id` is the operator's tenant: its operators
list it, add drivers to it and assign it id tokens; another operator's customer reads as missing (404).
Every creation and change is audited.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, NotFound, Principal, require
from pipelet_app.db.models import Driver, Role, Tenant, TenantKind

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def _name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 200:
        raise InvalidInput(f"{field}: required, 1 to 200 characters")
    return value.strip()


def own_customer(db: Session, principal: Principal, fleet_id: int) -> Tenant:
    require(principal, Role.OPERATOR)
    fleet = db.get(Tenant, fleet_id)
    if fleet is None or fleet.kind != TenantKind.FLEET or fleet.operator_tenant_id != principal.tenant_id:
        raise NotFound("Not found.")
    return fleet


def own_driver(db: Session, principal: Principal, driver_id: int) -> Driver:
    """A driver of one of the caller's fleet customers; anything else reads as missing."""
    driver = db.get(Driver, driver_id)
    if driver is None:
        raise NotFound("Not found.")
    own_customer(db, principal, driver.fleet_id)
    return driver


def _customer_out(fleet: Tenant, drivers: int) -> dict[str, Any]:
    return {"id": fleet.id, "name": fleet.name, "slug": fleet.slug, "drivers": drivers}


def list_customers(db: Session, principal: Principal) -> list[dict[str, Any]]:
    require(principal, Role.OPERATOR)
    rows = db.exec(
        select(Tenant, func.count(col(Driver.id)))
        .join(Driver, col(Driver.fleet_id) == Tenant.id, isouter=True)
        .where(Tenant.kind == TenantKind.FLEET, Tenant.operator_tenant_id == principal.tenant_id)
        .group_by(col(Tenant.id))
        .order_by(col(Tenant.name))
    ).all()
    return [_customer_out(fleet, count) for fleet, count in rows]


def _slug(db: Session, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "fleet"
    slug, n = base, 1
    while db.exec(select(Tenant.id).where(Tenant.slug == slug)).first() is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_customer(db: Session, principal: Principal, name: Any) -> dict[str, Any]:
    require(principal, Role.OPERATOR)
    if principal.tenant_id is None:
        raise NotFound("Not found.")
    clean = _name(name)
    taken = db.exec(
        select(Tenant.id).where(
            Tenant.operator_tenant_id == principal.tenant_id, func.lower(Tenant.name) == clean.lower()
        )
    ).first()
    if taken is not None:
        raise InvalidInput(f"name: you already have a fleet customer {clean!r}")
    fleet = Tenant(
        name=clean, slug=_slug(db, clean), kind=TenantKind.FLEET, operator_tenant_id=principal.tenant_id
    )
    db.add(fleet)
    db.flush()
    audit.record(db, principal, "FleetCustomerCreated", "fleet", fleet.id, {"name": [None, clean]})  # type: ignore[arg-type]
    db.commit()
    return _customer_out(fleet, 0)


def _drivers(db: Session, fleet_id: int) -> list[Driver]:
    return list(db.exec(select(Driver).where(Driver.fleet_id == fleet_id).order_by(col(Driver.name))).all())


def driver_out(driver: Driver) -> dict[str, Any]:
    return {"id": driver.id, "fleet_id": driver.fleet_id, "name": driver.name, "email": driver.email}


def list_drivers(db: Session, principal: Principal, fleet_id: int) -> list[dict[str, Any]]:
    own_customer(db, principal, fleet_id)
    return [driver_out(d) for d in _drivers(db, fleet_id)]


def create_driver(
    db: Session, principal: Principal, fleet_id: int, values: Mapping[str, Any]
) -> dict[str, Any]:
    fleet = own_customer(db, principal, fleet_id)
    name = _name(values.get("name"))
    email = str(values.get("email") or "").strip()
    if email and not EMAIL.match(email):
        raise InvalidInput("email: not an e-mail address")
    driver = Driver(fleet_id=fleet.id, name=name, email=email)  # type: ignore[arg-type]
    db.add(driver)
    db.flush()
    audit.record(
        db,
        principal,
        "DriverCreated",
        "fleet",
        fleet.id,
        {"driver": [None, f"{name} (#{driver.id})"]},  # type: ignore[arg-type]
    )
    db.commit()
    return driver_out(driver)


def customer_history(db: Session, principal: Principal, fleet_id: int) -> list[dict[str, Any]]:
    own_customer(db, principal, fleet_id)
    return audit.history(db, principal.tenant_id, "fleet", fleet_id)
