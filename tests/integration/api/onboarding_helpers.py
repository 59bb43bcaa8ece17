"""Keys and look-ups the onboarding API tests share (no fixtures here: tests/conftest.py has those)."""

from __future__ import annotations

from sqlmodel import select

from pipelet_app.auth.api_keys import create_api_key
from pipelet_app.db import session_scope
from pipelet_app.db.models import Driver, Site, Tenant, User

SONNEN = "operator@sonnenstrom.demo"
NORTH = "operator@northwind.demo"


def key_of(email: str) -> dict[str, str]:
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == email)).one()
        return {"Authorization": f"Bearer {create_api_key(db, user, 'test')[1]}"}


def site_of(email: str) -> int:
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == email)).one()
        site = db.exec(select(Site).where(Site.tenant_id == user.tenant_id)).first()
        assert site is not None and site.id is not None
        return site.id


def fleet_id(slug: str) -> int:
    with session_scope() as db:
        fleet = db.exec(select(Tenant).where(Tenant.slug == slug)).one()
        assert fleet.id is not None
        return fleet.id


def driver_of(slug: str) -> int:
    with session_scope() as db:
        driver = db.exec(select(Driver).where(Driver.fleet_id == fleet_id(slug))).first()
        assert driver is not None and driver.id is not None
        return driver.id
