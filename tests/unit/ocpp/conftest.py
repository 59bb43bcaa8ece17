"""A migrated SQLite copy per test for the bookkeeping modules (no sockets, no PostgreSQL)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelet_app.db import reset_engine


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "ocpp.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    reset_engine()
    return url
