"""`pipelet seed-demo`: idempotent demo data."""

from __future__ import annotations

import json

import typer

from pipelet_app.cli._errors import friendly_errors
from pipelet_app.db import session_scope


def seed_and_report() -> dict:
    from pipelet_app.demo.seed import seed_demo

    with session_scope() as db:
        return seed_demo(db)


DEMO_WARNING = (
    "THIS IS A DEMO: the logins below are public (they are in the README). Demo logins are refused "
    "when PUBLIC_URL is a non-local address; never put demo data on a reachable server."
)


def print_logins(report: dict) -> None:
    typer.echo(DEMO_WARNING)
    typer.echo("Demo logins:")
    for user in report["users"]:
        typer.echo(f"  {user['role']:<14} {user['email']:<28} {user['password']:<18} {user['tenant'] or ''}")
    typer.echo("Demo chargers (HTTP Basic: user = charge point id):")
    for cp in report["charge_points"]:
        typer.echo(f"  {cp['id']:<14} {cp['password'] or '(rotated by an operator; not shown)'}")


@friendly_errors
def seed_demo(
    as_json: bool = typer.Option(
        False, "--json", help="Print logins, id tokens, charge points and SPVs as JSON"
    ),
) -> None:
    """Create the demo tenants, sites, chargers, fleets, SPV and one login per role (idempotent)."""
    from pipelet_app.cli.db import upgrade_database

    upgrade_database()
    report = seed_and_report()
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_logins(report)
