"""Shared set-up of the Inverter Hub integration tests: drivers, a coupled account, reading the results."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from pipelet_app.auth import Principal
from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    ChargingSession,
    Driver,
    PvAccount,
    Role,
    SessionSource,
    Tenant,
    TenantKind,
    User,
)
from pipelet_app.inverters.service import connect
from pipelet_app.services.pv_connections import save_connection
from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._server import FakeCloud


def make_driver(email: str = "pv-driver@example.test", fleet_slug: str = "pv-fleet") -> Principal:
    """A fleet tenant, a driver login and its driver record; returns the login's principal."""
    with session_scope() as db:
        tenant = db.exec(select(Tenant).where(Tenant.slug == fleet_slug)).first()
        if tenant is None:
            tenant = Tenant(name=fleet_slug, slug=fleet_slug, kind=TenantKind.FLEET)
            db.add(tenant)
            db.flush()
        user = User(email=email, name=email.split("@")[0], role=Role.DRIVER, tenant_id=tenant.id)
        db.add(user)
        db.flush()
        db.add(Driver(fleet_id=tenant.id, user_id=user.id, name=user.name, email=email))  # type: ignore[arg-type]
        db.flush()
        return Principal.of(user)


def driver_id_of(principal: Principal) -> int:
    with session_scope() as db:
        driver = db.exec(select(Driver).where(Driver.user_id == principal.user_id)).one()
        assert driver.id is not None
        return driver.id


async def couple(
    harness: BrandHarness, fake: FakeCloud, principal: Principal, credentials: dict[str, Any] | None = None
) -> int:
    """What the connect form does: live test + discovery, then save. Returns the account id."""
    result = await connect(
        harness.brand,
        credentials if credentials is not None else harness.good_credentials(fake),
        base_url=fake.base_url,
        clock=fake.clock.now,
        **harness.adapter_kwargs(fake),
    )
    with session_scope() as db:
        return save_connection(db, principal, harness.brand, result, now=fake.clock.now())


def pv_sessions(driver_id: int | None = None) -> list[ChargingSession]:
    with session_scope() as db:
        query = select(ChargingSession).where(ChargingSession.source == SessionSource.PV_INVERTER)
        if driver_id is not None:
            query = query.where(ChargingSession.driver_id == driver_id)
        return list(db.exec(query.order_by(ChargingSession.start_utc)).all())


def account(account_id: int) -> PvAccount:
    with session_scope() as db:
        row = db.get(PvAccount, account_id)
        assert row is not None
        return row
