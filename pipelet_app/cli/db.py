"""`pipelet db ...`: schema migrations."""

from __future__ import annotations

import typer

from pipelet_app.cli._errors import friendly_errors
from pipelet_app.db.migrate import alembic_config, upgrade_database
from pipelet_app.settings import get_settings

__all__ = ["alembic_config", "app", "upgrade_database"]  # both live in pipelet_app.db.migrate

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
@friendly_errors
def upgrade() -> None:
    """Run `alembic upgrade head` on DATABASE_URL."""
    upgrade_database()
    typer.echo(f"database at head: {get_settings().database_url.split('@')[-1]}")
