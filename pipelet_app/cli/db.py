"""`pipelet db ...`: schema migrations."""

from __future__ import annotations

from pathlib import Path

import typer
from alembic.config import Config
from sqlalchemy.exc import OperationalError

from alembic import command
from pipelet_app.cli._errors import BadInput, friendly_errors
from pipelet_app.settings import get_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)
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


@app.command("upgrade")
@friendly_errors
def upgrade() -> None:
    """Run `alembic upgrade head` on DATABASE_URL."""
    upgrade_database()
    typer.echo(f"database at head: {get_settings().database_url.split('@')[-1]}")
