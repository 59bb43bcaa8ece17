"""`pipelet api-key create|revoke`."""

from __future__ import annotations

import typer
from sqlmodel import select

from pipelet_app import audit
from pipelet_app.auth.api_keys import create_api_key, revoke_api_key
from pipelet_app.cli._errors import BadInput, friendly_errors
from pipelet_app.db import session_scope
from pipelet_app.db.models import User

app = typer.Typer(help="API keys for /api/v1.", no_args_is_help=True)


@app.command("create")
@friendly_errors
def create(
    email: str = typer.Option(..., help="The user the key acts as"),
    name: str = typer.Option("", help="A label for the key"),
) -> None:
    """Print a new API key (shown once; stored hashed)."""
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            raise BadInput(f"email: no user {email!r}")
        row, key = create_api_key(db, user, name, actor=audit.Named("cli"))
    typer.echo(key)
    typer.echo(
        f"key id {row.key_id} for {user.email} ({user.role}); store it now, it is not shown again", err=True
    )


@app.command("revoke")
@friendly_errors
def revoke(key_id: str = typer.Argument(..., help="The key id (the part after pk_)")) -> None:
    """Revoke an API key by its id."""
    from pipelet_app.auth import NotFound

    with session_scope() as db:
        try:
            revoke_api_key(db, key_id, actor=audit.Named("cli"))
        except NotFound as exc:
            raise BadInput(exc.message) from exc
    typer.echo(f"revoked {key_id}")
