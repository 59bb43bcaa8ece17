"""`pipelet db upgrade` from an empty database on both backends, and the models match the migrations."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect

from alembic import command
from pipelet_app.cli.db import alembic_config, upgrade_database
from pipelet_app.db import get_engine, reset_engine
from tests.conftest import _pg_admin, _pg_url, postgres_available

CORE_TABLES = {
    "tenants",
    "sites",
    "drivers",
    "users",
    "auth_sessions",
    "invitations",
    "api_keys",
    "chargers",
    "connectors",
    "id_tokens",
    "op_charging_sessions",
    "meter_values",
    "spvs",
    "spv_partners",
}


def _upgrade_and_check(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    reset_engine()
    upgrade_database()
    tables = set(inspect(get_engine()).get_table_names())
    assert tables >= CORE_TABLES
    columns = {c["name"] for c in inspect(get_engine()).get_columns("op_charging_sessions")}
    assert columns >= {
        "id",
        "transaction_id",
        "station_id",
        "id_tag",
        "reason",
        "source",
        "driver_id",
        "start_utc",
        "end_utc",
        "energy_wh",
        "cost",
    }
    uniques = inspect(get_engine()).get_indexes("op_charging_sessions")
    assert any(ix["column_names"] == ["transaction_id"] and ix["unique"] for ix in uniques)
    command.check(alembic_config())  # raises if the models drifted from the migrations
    upgrade_database()  # a second upgrade is a no-op


def test_upgrade_empty_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _upgrade_and_check(f"sqlite:///{tmp_path / 'fresh.db'}", monkeypatch)


@pytest.mark.postgres
def test_upgrade_empty_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    name = f"pipelet_mig_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        _upgrade_and_check(_pg_url(name), monkeypatch)
    finally:
        reset_engine()
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
