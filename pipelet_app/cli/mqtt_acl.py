"""`pipelet mqtt-acl --out DIR`: Mosquitto users and topic rights for every site (ops, reads the database).

New passwords go to stdout once (`user password` per line) and nowhere else: not to the log, not to
stderr; the files hold only hashes. See docs/deployment.md "MQTT: one broker user per site".
"""

from __future__ import annotations

from pathlib import Path

import typer
from sqlmodel import select

from pipelet_app.cli._errors import BadInput, friendly_errors
from pipelet_app.db import session_scope
from pipelet_app.db.models import Site, Tenant
from pipelet_app.site_energy import broker_acl


@friendly_errors
def mqtt_acl(
    out: Path = typer.Option(..., "--out", help="Directory for `passwords`, `acl`, `pipelet-acl.conf`"),
    consumer_user: str = typer.Option(broker_acl.CONSUMER_USER, help="The broker user of Pipelet's consumer"),
    rotate: bool = typer.Option(False, "--rotate", help="New passwords for every user"),
    rotate_site: list[int] = typer.Option(
        [], "--rotate-site", help="A new password for this site's user only (repeatable)"
    ),
) -> None:
    """Write Mosquitto's password_file and acl_file: user site-{id} may write only its site's two topics,
    the consumer user may read them all. Prints new passwords once; re-running keeps the others."""
    if not consumer_user or any(c in consumer_user for c in ": \t\n#"):
        raise BadInput(f"--consumer-user: {consumer_user!r} is not a broker user name")
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out: {out} is not a directory")
    with session_scope() as db:
        rows = db.exec(select(Site.id, Tenant.slug).join(Tenant, Tenant.id == Site.tenant_id)).all()
    sites = [broker_acl.SiteEntry(int(site_id), slug) for site_id, slug in rows]
    unknown = sorted(set(rotate_site) - {s.site_id for s in sites})
    if unknown:
        raise BadInput(f"--rotate-site: no site {unknown[0]}")
    existing = broker_acl.read_password_file(out / broker_acl.PASSWORD_FILE)
    try:
        files = broker_acl.build(
            sites, existing, consumer_user=consumer_user, rotate=rotate, rotate_sites=rotate_site
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    broker_acl.write(out, files)
    for user, password in files.issued:
        typer.echo(f"{user} {password}")
    typer.echo(
        f"{len(sites)} sites; {len(files.issued)} new passwords (above, not shown again), "
        f"{len(files.kept)} kept; include {out / broker_acl.CONF_FILE} in mosquitto.conf and reload it; "
        f"the consumer logs in with MQTT_URL=mqtt://{consumer_user}:PASSWORD@HOST:PORT",
        err=True,
    )
