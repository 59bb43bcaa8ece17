"""Bring the database to the newest schema (alembic upgrade head).

Below the CLI and the CSMS entry point, which both migrate at start: neither imports the other for it.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy.exc import OperationalError

from alembic import command
from pipelet_app.errors import BadInput
from pipelet_app.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    return Config(str(ROOT / "alembic.ini"))


def upgrade_database() -> None:
    """Bring DATABASE_URL to the newest schema (alembic upgrade head)."""
    get_settings()  # a malformed DATABASE_URL fails here, before alembic starts
    try:
        command.upgrade(alembic_config(), "head")
    except OperationalError as exc:
        raise BadInput(f"DATABASE_URL: cannot reach the database ({exc.orig})") from exc
