"""The monthly health roll-up on SQLite and PostgreSQL: stored rows per charger and site, a crashed
node's open period ended at the last sign of life, faults with durations, reads refused across tenants."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.api import build_api
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargerConnectionPeriod, ConnectorStatusPeriod, HealthMonth
from pipelet_app.operations.health import rollup
from tests.integration.api.onboarding_helpers import NORTH, SONNEN, key_of

H = timedelta(hours=1)


def _last_month() -> datetime:
    """The first instant of the month before the test's now: a month that is over on any date."""
    now = utcnow()
    year, month = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    return datetime(year, month, 1, tzinfo=UTC)


@pytest.fixture
def client(demo: dict) -> Iterator[TestClient]:
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        yield test_client


def _history(T0: datetime) -> None:
    with session_scope() as db:
        one = db.exec(select(Charger).where(Charger.charge_point_id == "SON-CP-001")).one()
        two = db.exec(select(Charger).where(Charger.charge_point_id == "SON-CP-002")).one()
        for c in (one, two):
            c.is_online = False
            db.add(c)
        two.last_seen_at = T0 + 4 * H  # its node crashed and left the period open
        db.add_all(
            [
                ChargerConnectionPeriod(charger_id=one.id, connected_at=T0, disconnected_at=T0 + 5 * H),
                # a CSMS restart: back 30 s later
                ChargerConnectionPeriod(
                    charger_id=one.id,
                    connected_at=T0 + 5 * H + timedelta(seconds=30),
                    disconnected_at=T0 + 8 * H,
                ),
                ChargerConnectionPeriod(charger_id=two.id, connected_at=T0, disconnected_at=None),
                ConnectorStatusPeriod(
                    charger_id=one.id,
                    connector_id=1,
                    status="Faulted",
                    error_code="GroundFailure",
                    started_at=T0 + 2 * H,
                    ended_at=T0 + 3 * H,
                ),
            ]
        )
        db.commit()


@pytest.mark.dates
def test_rollup_stores_charger_and_site_months(client: TestClient) -> None:
    T0 = _last_month()
    NOW = T0 + 10 * H
    month = f"{T0.year:04d}-{T0.month:02d}"
    before = f"{T0.year - 1:04d}-{T0.month:02d}"
    _history(T0)
    with session_scope() as db:
        assert rollup(db, T0.year, T0.month, NOW) >= 2
        assert rollup(db, T0.year, T0.month, NOW) >= 2  # idempotent: the month's rows are replaced
        one = db.exec(select(Charger).where(Charger.charge_point_id == "SON-CP-001")).one()
        rows = db.exec(
            select(HealthMonth).where(HealthMonth.object_id == one.id, HealthMonth.scope == "charger")
        ).all()
        assert len(rows) == 1
    op = key_of(SONNEN)
    health = client.get(f"/api/v1/chargers/SON-CP-001/health?month={month}", headers=op).json()
    assert (health["online_s"], health["degraded_s"], health["offline_s"]) == (7 * 3600, 3600, 2 * 3600)
    assert health["faults"] == 1 and health["availability_percent"] == round(7 / 9 * 100, 2)
    crashed = client.get(f"/api/v1/chargers/SON-CP-002/health?month={month}", headers=op).json()
    assert crashed["online_s"] == 4 * 3600  # not 10 h: the open period ends at its last sign of life
    faults = client.get(f"/api/v1/chargers/SON-CP-001/faults?month={month}", headers=op).json()
    assert [(f["error_code"], f["duration_s"], f["ongoing"]) for f in faults] == [
        ("GroundFailure", 3600.0, False)
    ]
    with session_scope() as db:
        site_id = db.exec(select(Charger.site_id).where(Charger.charge_point_id == "SON-CP-001")).one()
    site = client.get(f"/api/v1/sites/{site_id}/health?month={month}", headers=op).json()
    assert site["online_s"] >= 11 * 3600 and site["computed_utc"] is not None
    assert (
        client.get(f"/api/v1/chargers/SON-CP-001/health?month={before}", headers=op).json()["computed_utc"]
        is None
    )
    intruder = key_of(NORTH)
    for path in (
        "/api/v1/chargers/SON-CP-001/health",
        "/api/v1/chargers/SON-CP-001/faults",
        f"/api/v1/sites/{site_id}/health",
    ):
        assert client.get(path, headers=intruder).status_code == 404
