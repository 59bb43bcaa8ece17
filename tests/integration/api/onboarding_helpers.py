"""Look-ups the onboarding API tests share (keys: tests/integration/api_keys.py, re-exported here for
the tests that import them from this module; fixtures: the conftest files)."""

from __future__ import annotations

from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import Driver, Tenant
from tests.integration.api_keys import key_of, site_of

__all__ = ["NORTH", "SONNEN", "driver_of", "fleet_id", "key_of", "site_of"]

SONNEN = "operator@sonnenstrom.demo"
NORTH = "operator@northwind.demo"


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
