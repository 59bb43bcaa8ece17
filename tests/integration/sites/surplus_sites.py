"""What the surplus loop's tests share: sites with the controller on, a charger's stored configuration,
and a recorder of the statements a worker sends, so each test can count its statements by what they
start with."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from pipelet_app.db import get_engine, session_scope
from pipelet_app.db.models import DeviceVariable, Site, SiteSurplus, Tenant, TenantKind


def sites(count: int, **surplus: Any) -> list[int]:
    """`count` sites of a new tenant, the controller on (unless `enabled=False` is given) every 10 s,
    with the `SiteSurplus` fields in `surplus` (a lease, say) set. No devices: their data is stale, so
    a cycle has nothing to send and no charger is needed."""
    with session_scope() as db:
        tenant = Tenant(name="Sun", slug=f"sun-{uuid.uuid4().hex[:8]}", kind=TenantKind.OPERATOR)
        db.add(tenant)
        db.flush()
        made = [Site(tenant_id=tenant.id, name=f"Roof {n}", grid_limit_a=32, phases=3) for n in range(count)]
        db.add_all(made)
        db.flush()
        for site in made:
            db.add(SiteSurplus(site_id=site.id, **{"enabled": True, "interval_s": 10, **surplus}))
        return [site.id for site in made if site.id is not None]


def charger_variable(
    charger_id: int | None, variable: str, value: str, component: str = "OCPP16"
) -> DeviceVariable:
    """A value of a charger's configuration (1.6 key) or device model (2.0.1 `component`) as stored from
    its answer."""
    return DeviceVariable(charger_id=charger_id, component=component, variable=variable, value=value)


@contextmanager
def statements(starting: str) -> Iterator[list[str]]:
    """Every statement sent to the database meanwhile whose text starts with `starting` (any case)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(starting.upper()):
            seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
